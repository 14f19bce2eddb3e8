"""Every builder page audited by axe-core (the npm package, run in Chromium): no serious or critical
violations of WCAG 2.1 AA, the editor also with a step open and with the test chat docked and undocked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[2] / "builder" / "canvas" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = [
    "/",
    "/flows/lead-capture",
    "/flows/lead-capture/versions",
    "/flows/lead-capture/knowledge",  # its uploader is a plain button (Quasar's holds its file input)
    "/templates",
    "/deployments",
    "/models",
    "/conversations",
    "/account",
    "/users",
    "/audit",
    "/privacy",
]
AUDIT = """async () => (await axe.run(document, {
  runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
  resultTypes: ["violations"],
})).violations.filter((v) => v.impact === "serious" || v.impact === "critical")
  .map((v) => `${v.id} (${v.impact}): ${v.nodes.length} × ${v.nodes[0].html.slice(0, 120)}`)"""


def _audit(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    return list(page.evaluate(AUDIT))


def test_every_page_has_no_serious_or_critical_violations(server: str, page: Any) -> None:
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make test` installs it with npm (builder/canvas/package.json)")
    found: dict[str, list[str]] = {}
    for path in PAGES:
        page.goto(f"{server}{path}")
        page.wait_for_function("window.did_handshake")
        page.wait_for_load_state("networkidle")
        problems = _audit(page)
        if problems:
            found[path] = problems
    assert found == {}


def test_the_editor_with_a_step_open_and_the_test_chat_has_none_either(server: str, page: Any) -> None:
    page.goto(f"{server}/flows/lead-capture")
    page.wait_for_function("window.did_handshake")
    page.click('.vue-flow__node[data-id="hello"]')
    page.wait_for_selector('[data-settings-of="hello"]')
    assert _audit(page) == []
    page.get_by_role("tab", name="Test chat").click()
    page.get_by_placeholder("Type a message").wait_for()
    assert _audit(page) == []
    page.get_by_role("button", name="Undock the chat").click()
    page.get_by_role("dialog", name="Test chat").get_by_placeholder("Type a message").wait_for()
    assert _audit(page) == []


def test_the_login_page_has_none(server: str, page: Any) -> None:
    page.context.clear_cookies()
    page.goto(f"{server}/login")
    page.wait_for_load_state("networkidle")
    assert _audit(page) == []


def test_the_import_dialog_has_none_and_imports_a_file(server: str, page: Any, tmp_path: Path) -> None:
    page.goto(server)
    page.wait_for_function("window.did_handshake")
    page.get_by_role("button", name="Import").click()
    page.get_by_role("button", name="Choose a flow file").wait_for()
    assert _audit(page) == []
    flow = tmp_path / "greeter.json"
    flow.write_text(json.dumps({
        "id": "greeter", "name": "Greeter", "start": "start",
        "nodes": [{"id": "start", "type": "flow.start", "version": 1, "settings": {}, "ui": {"x": 0, "y": 0}}],
        "edges": [],
    }))  # fmt: skip
    chooser = page.locator('.q-dialog input[type="file"]')
    # refused before anything is read, each in words: not a flow file, or far too large for one
    notes = tmp_path / "notes.txt"
    notes.write_text("not a flow")
    chooser.set_input_files(str(notes))
    page.get_by_text("“notes.txt” is not a flow file").wait_for()
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (5 * 1024 * 1024 + 1))
    chooser.set_input_files(str(huge))
    page.get_by_text("“huge.json” is larger than 5 MB").wait_for()
    chooser.set_input_files(str(flow))
    page.get_by_text("Imported “Greeter”.").wait_for()
    assert page.locator('a[href^="/flows/"]', has_text="notes").count() == 0

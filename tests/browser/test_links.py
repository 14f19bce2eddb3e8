"""A `javascript:` address in a message never becomes something a person can run: not in the
builder's test chat (where an owner's session would run it), not in the web chat widget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.browser.helpers import open_editor

ATTACK = "javascript:document.title='pwned'"


def _flow() -> dict[str, Any]:
    def node(node_id: str, kind: str, settings: dict[str, Any], x: int) -> dict[str, Any]:
        return {"id": node_id, "type": kind, "version": 1, "settings": settings, "ui": {"x": x, "y": 0}}

    nodes = [
        node("start", "flow.start", {}, 0),
        node("ask", "input.text", {"prompt": "Which file?", "save_as": "link"}, 240),
        # the address is filled in from the answer, so only the run can see what it is
        node("send", "message.send", {"text": "Here it is", "media_kind": "file", "media_url": "{{ link }}"}, 480),
        node("end", "flow.end", {}, 720),
    ]
    edges = [
        {"id": "e1", "source": "start", "source_port": "out", "target": "ask", "target_port": "in"},
        {"id": "e2", "source": "ask", "source_port": "valid", "target": "send", "target_port": "in"},
        {"id": "e3", "source": "send", "source_port": "out", "target": "end", "target_port": "in"},
    ]
    return {"schema_version": 1, "id": "links", "name": "Links", "start": "start", "nodes": nodes, "edges": edges}


def _cli(tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "CHATLOOM_DATA": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "chatloom", *args], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _nothing_runnable(page: Any) -> None:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if not h.lower().startswith(("http", "/", "#", "mailto:", "tel:"))], hrefs
    for link in page.locator("a", has_text="file").all():  # whatever is shown: a person clicks it
        link.click()
    assert page.title() != "pwned"


def test_a_javascript_link_never_runs_in_the_test_chat_or_the_widget(server: str, page: Any, tmp_path: Path) -> None:
    flow = tmp_path / "links.json"
    flow.write_text(json.dumps(_flow()))
    _cli(tmp_path, "import", str(flow), "--publish")

    open_editor(page, f"{server}/flows/links")
    page.get_by_role("button", name="Test chat").click()
    page.get_by_text("Which file?").last.wait_for()
    page.get_by_placeholder("Type a message").fill(ATTACK)
    page.get_by_placeholder("Type a message").press("Enter")
    page.get_by_text("Sorry, something went wrong").wait_for()  # the step refused the address
    _nothing_runnable(page)

    _cli(tmp_path, "deploy", "web", "site", "links", "--webhook", server)
    page.goto(f"{server}/widget/site/preview")
    page.get_by_role("button", name="Open the chat").click()
    page.get_by_text("Which file?").wait_for()
    page.locator(".chatloom-widget input").fill(ATTACK)
    page.locator(".chatloom-widget input").press("Enter")
    page.locator(".cl-out").nth(1).wait_for()  # the bot's answer to it: an apology, never the link
    assert "Here it is" not in page.locator(".chatloom-widget").inner_text()
    _nothing_runnable(page)

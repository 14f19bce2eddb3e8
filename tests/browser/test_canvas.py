"""The canvas in a real browser: drop a node from the palette, connect ports, reload, find both saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.helpers import draft as _draft
from tests.browser.helpers import drag as _drag
from tests.browser.helpers import node as _node
from tests.browser.helpers import open_editor as _open


def test_drop_a_node_connect_it_and_find_both_after_reload(server: str, page: Any, tmp_path: Path) -> None:
    _open(page, f"{server}/flows/lead-capture")
    pane = page.locator(".vue-flow__pane").bounding_box()
    page.drag_and_drop(
        '[data-node-type="message.send"]',
        ".vue-flow__pane",
        target_position={"x": pane["width"] * 0.5, "y": pane["height"] * 0.85},
    )
    page.wait_for_selector(_node("send-1"))
    page.click(".vue-flow__controls-fitview")
    edges_before = page.locator(".vue-flow__edge").count()
    _drag(
        page, f'{_node("send-1")} .vue-flow__handle[data-handleid="out"]', f"{_node('name')} .vue-flow__handle.target"
    )
    page.wait_for_function(f"document.querySelectorAll('.vue-flow__edge').length === {edges_before + 1}")

    page.reload()
    page.wait_for_selector(_node("send-1"))
    assert page.locator(".vue-flow__edge").count() == edges_before + 1
    draft = _draft(tmp_path, "lead-capture")
    assert draft.node("send-1") is not None
    assert any(e.source == "send-1" and e.target == "name" for e in draft.edges)


def test_a_refused_connection_leaves_no_edge(server: str, page: Any, tmp_path: Path) -> None:
    _open(page, f"{server}/flows/lead-capture")
    before = _draft(tmp_path, "lead-capture").edges
    edges_before = page.locator(".vue-flow__edge").count()
    # the start's output already leads to "hello": a second connection from it is refused
    _drag(page, f'{_node("start")} .vue-flow__handle[data-handleid="out"]', f"{_node('name')} .vue-flow__handle.target")
    page.get_by_text("already connected").wait_for()
    assert page.locator(".vue-flow__edge").count() == edges_before
    assert _draft(tmp_path, "lead-capture").edges == before

"""The canvas in a real browser: drop a node from the palette, connect ports, reload, find both saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.db import make_engine
from flows.models import Flow
from flows.store import FlowStore


def _draft(tmp_path: Path, flow_id: str) -> Flow:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'chatloom.db'}")
    try:
        return FlowStore(engine).draft(flow_id)
    finally:
        engine.dispose()


def _drag(page: Any, source: str, target: str) -> None:
    """Press on one element and release on another, in small steps, as a hand would."""
    a, b = page.locator(source).bounding_box(), page.locator(target).bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=15)
    page.mouse.up()


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(_node("start"))
    page.click(".vue-flow__controls-fitview")  # the whole flow in view, whatever the window size


def _node(node_id: str) -> str:
    return f'.vue-flow__node[data-id="{node_id}"]'


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

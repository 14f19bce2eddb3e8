"""What the browser tests share: reading the draft the server saved, and moving the mouse like a hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.db import make_engine
from flows.models import Flow
from flows.store import FlowStore


def draft(tmp_path: Path, flow_id: str) -> Flow:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'chatloom.db'}")
    try:
        return FlowStore(engine).draft(flow_id)
    finally:
        engine.dispose()


def drag(page: Any, source: str, target: str) -> None:
    """Press on one element and release on another, in small steps, as a hand would."""
    a, b = page.locator(source).bounding_box(), page.locator(target).bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=15)
    page.mouse.up()


def open_editor(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(node("start"))
    page.click(".vue-flow__controls-fitview")  # the whole flow in view, whatever the window size


def node(node_id: str) -> str:
    return f'.vue-flow__node[data-id="{node_id}"]'

"""The canvas as a person reads it, in Chromium: a readable opening zoom, cards that say what each step
says, exits in words and big enough to grab, a connection dropped anywhere on a step, outlines when
zoomed far out, and a palette that starts with what most flows use."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.browser.helpers import draft as _draft
from tests.browser.helpers import node as _node

ZOOM_JS = """() => {
  const pane = document.querySelector('.vue-flow__transformationpane');
  return new DOMMatrixReadOnly(getComputedStyle(pane).transform).a;
}"""


def _zoom(page: Any) -> float:
    return float(page.evaluate(ZOOM_JS))


def _eventually(page: Any, read: Callable[[], Any], holds: Callable[[Any], bool], seconds: float = 10) -> Any:
    """What `read` gives once `holds` is true of it (checked every 100 ms, for at most `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if value is not None and holds(value):
            return value
        assert time.monotonic() < deadline, f"still {value!r} after {seconds} s"
        page.wait_for_timeout(100)


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(_node("start"))
    page.wait_for_timeout(400)  # the opening view is set once the cards have their sizes


def test_a_flow_opens_readable_and_its_cards_say_what_each_step_says(server: str, page: Any) -> None:
    _open(page, f"{server}/flows/lead-capture")
    assert _zoom(page) >= 0.75  # text at least 75% of its size: never the 6 px of a whole-flow fit
    pane = page.locator(".vue-flow__pane").bounding_box()
    start = page.locator(_node("start")).bounding_box()
    assert pane["x"] <= start["x"] and start["x"] + start["width"] <= pane["x"] + pane["width"]  # start in view

    email = page.locator('.chatloom-node[data-node-id="email"]')
    assert email.locator(".cl-title").inner_text() == "Ask for an email"
    assert email.locator(".cl-var").first.inner_text() == "name"  # {{ name }} drawn as a chip, not braces
    assert "{{" not in email.locator(".cl-text").inner_text()
    assert "Saves to" in email.locator(".cl-saves").inner_text()
    exits = email.locator(".cl-exit").all_inner_texts()
    assert [e.strip() for e in exits][:2] == ["answered", "not understood"]
    colour = email.evaluate("(el) => getComputedStyle(el.querySelector('.cl-icon')).backgroundColor")
    hello = page.locator('.chatloom-node[data-node-id="hello"]')
    assert colour != hello.evaluate("(el) => getComputedStyle(el.querySelector('.cl-icon')).backgroundColor")

    # every exit can be grabbed within 16 px: the dot is 12 px, its hit area reaches further
    handle = hello.locator('.vue-flow__handle[data-handleid="out"]')
    box = handle.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx, dy in ((8, 0), (-8, 0), (0, 8), (0, -8)):
        hit = page.evaluate(
            "([x, y]) => { const el = document.elementFromPoint(x, y);"
            " return el && (el.dataset.handleid || el.className.baseVal || el.className) }",
            [cx + dx, cy + dy],
        )
        assert hit == "out", (dx, dy)


def test_a_connection_dropped_on_a_steps_body_joins_it(server: str, page: Any, tmp_path: Path) -> None:
    _open(page, f"{server}/flows/lead-capture")
    edges = page.locator(".vue-flow__edge").count()
    page.locator('[data-node-type="message.send"]').dblclick()  # lands in the middle of the view
    page.wait_for_selector(_node("send-1"))
    added = page.locator(_node("send-1")).bounding_box()
    pane = page.locator(".vue-flow__pane").bounding_box()
    assert pane["x"] < added["x"] < pane["x"] + pane["width"] and pane["y"] < added["y"] < pane["y"] + pane["height"]
    for other in ("start", "hello", "name"):  # in a free place, not on top of a step
        box = page.locator(_node(other)).bounding_box()
        apart = (
            added["x"] >= box["x"] + box["width"]
            or box["x"] >= added["x"] + added["width"]
            or added["y"] >= box["y"] + box["height"]
            or box["y"] >= added["y"] + added["height"]
        )
        assert apart, other

    out = page.locator(f'{_node("send-1")} .vue-flow__handle[data-handleid="out"]').bounding_box()
    body = page.locator(f"{_node('hello')} .cl-text").bounding_box()  # the text, far from the input dot
    page.mouse.move(out["x"] + out["width"] / 2, out["y"] + out["height"] / 2)
    page.mouse.down()
    page.mouse.move(body["x"] + body["width"] / 2, body["y"] + body["height"] / 2, steps=15)
    page.mouse.up()
    page.wait_for_function(f"document.querySelectorAll('.vue-flow__edge').length === {edges + 1}")
    assert any(e.source == "send-1" and e.target == "hello" for e in _draft(tmp_path, "lead-capture").edges)


def test_far_out_the_cards_become_outlines_and_problems_show_on_them(server: str, page: Any) -> None:
    _open(page, f"{server}/flows/lead-capture")
    assert page.locator(".chatloom-canvas.far").count() == 0
    while _zoom(page) >= 0.5:
        page.click(".vue-flow__controls-zoomout")
        page.wait_for_timeout(150)
    page.wait_for_selector(".chatloom-canvas.far")
    assert page.locator(f"{_node('email')} .cl-text").evaluate("(el) => getComputedStyle(el).visibility") == "hidden"
    page.click(".vue-flow__controls-zoomin")
    page.click(".vue-flow__controls-zoomin")
    page.wait_for_selector(".chatloom-canvas:not(.far)")

    page.click(".vue-flow__controls-fitview")
    page.locator('[data-node-type="input.text"]').dblclick()  # a question with nothing asked yet
    page.wait_for_selector(f"{_node('text-1')} .cl-badge")
    badge = page.locator(f"{_node('text-1')} .cl-badge")
    assert badge.get_attribute("aria-label") == "Has an error"
    assert "Question" in (badge.get_attribute("title") or "")  # the problem in words, on the card
    assert "Not set up yet" in (page.locator(f"{_node('text-1')} .cl-empty").text_content() or "")


def test_the_palette_starts_with_messages_and_never_offers_a_second_start(server: str, page: Any) -> None:
    _open(page, f"{server}/flows/lead-capture")
    entries = page.locator("[data-node-type]")
    assert entries.first.get_attribute("data-node-type") == "message.send"
    assert page.locator('[data-node-type="flow.start"]').count() == 0
    assert "Sends a message" in entries.first.inner_text()  # what it does, under its name
    page.get_by_placeholder("Search steps").fill("email")
    page.wait_for_function("document.querySelector('[data-node-type=\"message.send\"]').offsetParent === null")
    assert page.locator('[data-node-type="input.email"]').is_visible()


def test_steps_are_added_moved_and_deleted_by_keyboard(server: str, page: Any, tmp_path: Path) -> None:
    _open(page, f"{server}/flows/lead-capture")
    page.focus('[data-node-type="message.send"]')
    page.keyboard.press("Enter")  # the palette entry adds its step
    page.wait_for_selector(_node("send-1"))
    before = _draft(tmp_path, "lead-capture").node("send-1")
    assert before is not None
    page.focus(_node("send-1"))
    page.keyboard.press("Enter")  # selects it
    page.wait_for_selector(f"{_node('send-1')}.selected")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    # the canvas reports the new place once the keys rest (0.4 s after the last one)
    after = _eventually(page, lambda: _draft(tmp_path, "lead-capture").node("send-1"), lambda n: n.ui != before.ui)
    assert after.ui["y"] > before.ui["y"] and after.ui["x"] == before.ui["x"]
    page.keyboard.press("Delete")
    page.wait_for_selector(_node("send-1"), state="detached")
    assert _draft(tmp_path, "lead-capture").node("send-1") is None

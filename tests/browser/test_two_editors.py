"""Two browsers on one flow, in Chromium: each sees the other there and the other's edits on its canvas."""

from __future__ import annotations

from typing import Any

from benchmarks.bench_canvas import sign_in
from tests.browser.helpers import node as _node


def test_two_browsers_see_each_others_edits(server: str, page: Any) -> None:
    other = page.context.browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    sign_in(other, server)
    for tab in (page, other):
        tab.goto(f"{server}/flows/lead-capture")
        tab.wait_for_selector(_node("start"))
        tab.wait_for_function("window.did_handshake")
    page.get_by_text("also here").wait_for()
    other.get_by_text("also here").wait_for()

    page.locator('[data-node-type="message.send"]').dblclick()  # added in one browser...
    other.wait_for_selector(_node("send-1"))  # ...drawn in the other

    other.click(_node("hello"))
    other.wait_for_selector('[data-settings-of="hello"]')
    other.get_by_label("Message", exact=True).fill("Welcome, written in the other browser")
    page.locator(_node("hello")).get_by_text("Welcome, written in the other browser").wait_for()
    other.close()

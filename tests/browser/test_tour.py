"""The guided tour in Chromium: offered to someone new, each stop lights up its part of the editor,
it can be skipped at any stop and shown again from the ? button, and once taken it is not offered again."""

from __future__ import annotations

from typing import Any

from tests.browser.helpers import node as _node

STOPS = ("[data-tour=palette]", "[data-tour=canvas]", "[data-tour=side]", "[data-tour=test-chat]",
         "[data-tour=publish]")  # fmt: skip


def _lit(page: Any) -> dict[str, float]:
    return page.locator(".chatloom-tour .ct-light").bounding_box()


def test_take_the_tour_skip_it_and_see_it_again(server: str, page: Any) -> None:
    page.goto(f"{server}/flows/lead-capture")
    page.wait_for_selector(_node("start"))
    page.wait_for_function("window.did_handshake")  # connected: clicks reach the server
    page.get_by_text("New here?").wait_for()
    page.get_by_role("button", name="Show me").click()
    card = page.get_by_role("dialog")
    for index, target in enumerate(STOPS):
        card.get_by_text(f"{index + 1} of {len(STOPS)}").wait_for()
        part = page.locator(target).first.bounding_box()
        light = _lit(page)
        # the light surrounds the part it talks about
        assert light["x"] <= part["x"] and light["y"] <= part["y"]
        assert light["x"] + light["width"] >= part["x"] + part["width"] - 1
        assert light["y"] + light["height"] >= part["y"] + part["height"] - 1
        box = card.bounding_box()  # the card stays on the screen
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= 1400 and box["y"] + box["height"] <= 900
        page.keyboard.press("Enter") if index < len(STOPS) - 1 else card.get_by_role("button", name="Done").click()
    page.locator(".chatloom-tour").wait_for(state="detached")

    page.reload()
    page.wait_for_selector(_node("start"))
    page.wait_for_function("window.did_handshake")
    page.get_by_text("Select a step to see its settings.").wait_for()
    assert page.get_by_text("New here?").count() == 0  # taken once: not offered again

    page.get_by_role("button", name="Show the tour").click()  # but always there to see again
    page.get_by_role("dialog").get_by_text("1 of 5").wait_for()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("dialog").get_by_text("2 of 5").wait_for()
    page.keyboard.press("Escape")  # skipped halfway
    page.locator(".chatloom-tour").wait_for(state="detached")
    page.locator('[data-node-type="message.send"]').dblclick()  # the page works as before
    page.wait_for_selector(_node("send-1"))

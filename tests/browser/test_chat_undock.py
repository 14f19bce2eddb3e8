"""The test chat undocked: it floats over the canvas, which gets the side panel's width, keeps
answering, is moved by its header and stays inside the window, is put back where this browser left
it, and docks back into the side panel."""

from __future__ import annotations

from typing import Any

from tests.browser.helpers import node, open_editor


def _canvas_width(page: Any) -> float:
    return float(page.locator(".vue-flow").first.bounding_box()["width"])


def test_the_undocked_chat_floats_over_a_wider_canvas_and_still_answers(server: str, page: Any) -> None:
    open_editor(page, f"{server}/flows/lead-capture")
    page.get_by_role("button", name="Test chat", exact=True).click()
    page.get_by_placeholder("Type a message").wait_for()
    docked = _canvas_width(page)

    page.get_by_role("button", name="Undock the chat").click()
    chat = page.get_by_role("dialog", name="Test chat")
    chat.wait_for()
    page.wait_for_function(f"document.querySelector('.vue-flow').getBoundingClientRect().width > {docked + 200}")
    assert _canvas_width(page) > docked + 200  # the side panel's width went to the canvas

    chat.get_by_placeholder("Type a message").fill("Ada")
    chat.get_by_placeholder("Type a message").press("Enter")
    chat.get_by_text("Thanks, Ada! What's your email address?").wait_for()  # the bot answers in the floating chat
    page.wait_for_selector(f"{node('email')} .running")  # the canvas shows the step the chat waits at

    # dragged by its header, far past the window's corner: it stops inside the window
    header = chat.get_by_text("Test chat", exact=True).bounding_box()
    page.mouse.move(header["x"] + 5, header["y"] + 5)
    page.mouse.down()
    page.mouse.move(3000, 3000, steps=10)
    page.mouse.up()
    box = chat.bounding_box()
    window = page.viewport_size
    assert box["x"] + box["width"] <= window["width"] and box["y"] + box["height"] <= window["height"]
    assert box["x"] > window["width"] / 2  # it did move: to the bottom right corner
    handle = chat.get_by_role("button", name="Move the chat (arrow keys)")
    handle.focus()
    page.keyboard.press("ArrowLeft")
    assert chat.bounding_box()["x"] == box["x"] - 20

    page.reload()  # this browser remembers where the chat floated
    page.wait_for_selector(node("start"))
    page.get_by_role("button", name="Test chat", exact=True).click()
    page.get_by_role("button", name="Undock the chat").click()
    chat.wait_for()
    assert chat.bounding_box()["x"] == box["x"] - 20 and chat.bounding_box()["y"] == box["y"]

    chat.get_by_role("button", name="Dock the chat in the side panel").click()
    chat.wait_for(state="hidden")
    page.get_by_role("tabpanel").get_by_placeholder("Type a message").wait_for()  # back in the side panel
    page.wait_for_function(f"document.querySelector('.vue-flow').getBoundingClientRect().width < {docked + 1}")


def test_choosing_a_step_while_the_chat_floats_shows_its_settings(server: str, page: Any) -> None:
    open_editor(page, f"{server}/flows/lead-capture")
    page.get_by_role("button", name="Test chat", exact=True).click()
    page.get_by_role("button", name="Undock the chat").click()
    page.get_by_role("dialog", name="Test chat").wait_for()
    page.wait_for_selector('[data-tour="side"]', state="hidden")
    page.click(node("hello"))
    page.wait_for_selector('[data-settings-of="hello"]')  # the side panel comes back for the step
    page.get_by_role("dialog", name="Test chat").get_by_placeholder("Type a message").wait_for()  # the chat stays
    page.click(".vue-flow__pane", position={"x": 40, "y": 40})  # nothing chosen: the canvas has the width again
    page.wait_for_selector('[data-tour="side"]', state="hidden")

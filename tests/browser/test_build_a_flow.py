"""A whole journey in a real browser: build a three-node flow from nothing, chat with it, publish it,
reload and find it as it was; and the canvas tools by keyboard and by box selection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.helpers import draft as _draft
from tests.browser.helpers import drag as _drag
from tests.browser.helpers import node as _node
from tests.browser.helpers import open_editor as _open


def _drop(page: Any, node_type: str, at: tuple[float, float]) -> None:
    """Drag a palette entry onto the canvas at this fraction of its width and height."""
    pane = page.locator(".vue-flow__pane").bounding_box()
    page.drag_and_drop(
        f'[data-node-type="{node_type}"]',
        ".vue-flow__pane",
        target_position={"x": pane["width"] * at[0], "y": pane["height"] * at[1]},
    )


def _join(page: Any, source: str, target: str, port: str = "out") -> None:
    edges = page.locator(".vue-flow__edge").count()
    _drag(
        page, f'{_node(source)} .vue-flow__handle[data-handleid="{port}"]', f"{_node(target)} .vue-flow__handle.target"
    )
    page.wait_for_function(f"document.querySelectorAll('.vue-flow__edge').length === {edges + 1}")


def _select(page: Any, node_id: str) -> None:
    """Click a node and wait for its settings in the side panel."""
    page.click(_node(node_id))
    page.wait_for_selector(f'[data-settings-of="{node_id}"]')


def test_build_chat_publish_and_reload_a_three_node_flow(server: str, page: Any, tmp_path: Path) -> None:
    page.goto(server)
    page.get_by_role("button", name="New flow").click()
    page.get_by_label("Name", exact=True).fill("Greeter")
    page.get_by_role("button", name="OK").click()
    page.wait_for_url("**/flows/greeter")
    page.wait_for_selector(_node("start"))

    _drop(page, "input.text", (0.45, 0.3))
    page.wait_for_selector(_node("text-1"))
    _drop(page, "message.send", (0.75, 0.6))
    page.wait_for_selector(_node("send-1"))
    _join(page, "start", "text-1")
    _join(page, "text-1", "send-1", port="valid")

    _select(page, "text-1")
    page.get_by_label("Question", exact=True).fill("What is your name?")
    page.get_by_label("Save answer in variable", exact=True).fill("name")
    _select(page, "send-1")
    page.get_by_label("Message", exact=True).fill("Nice to meet you, {{ name }}!")
    page.locator(_node("send-1")).get_by_text("Nice to meet you").wait_for()  # the card shows the message

    page.get_by_role("button", name="Test chat").click()
    # the chat's box has the keyboard at once: the answer is typed without a click into it first
    page.wait_for_function("() => document.activeElement && document.activeElement.placeholder === 'Type a message'")
    page.get_by_text("What is your name?").last.wait_for()
    page.wait_for_selector('.chatloom-node.running[data-node-id="text-1"]')  # the chat waits there
    page.get_by_placeholder("Type a message").fill("Ada")
    page.get_by_placeholder("Type a message").press("Enter")
    page.get_by_text("Nice to meet you, Ada!").wait_for()

    page.get_by_text("Versions and publishing").click()
    page.get_by_label("Note for this version").fill("first")
    page.get_by_role("button", name="Publish").click()
    page.get_by_text("version 1", exact=False).first.wait_for()

    page.goto(f"{server}/flows/greeter")
    page.wait_for_selector(_node("send-1"))
    assert page.locator(".vue-flow__edge").count() == 2
    page.locator(_node("text-1")).get_by_text("What is your name?").wait_for()
    flow = _draft(tmp_path, "greeter")
    assert {(e.source, e.target) for e in flow.edges} == {("start", "text-1"), ("text-1", "send-1")}
    assert flow.node("send-1").settings["text"] == "Nice to meet you, {{ name }}!"  # type: ignore[union-attr]


def test_box_select_copy_paste_undo_and_redo_by_keyboard(server: str, page: Any, tmp_path: Path) -> None:
    _open(page, f"{server}/flows/lead-capture")
    nodes = page.locator(".vue-flow__node").count()
    # Shift + drag on the empty canvas draws a selection box around the name and email questions
    a = page.locator(_node("name")).bounding_box()
    b = page.locator(_node("email")).bounding_box()
    left, top = min(a["x"], b["x"]) - 10, min(a["y"], b["y"]) - 10
    right, bottom = (
        max(a["x"] + a["width"], b["x"] + b["width"]) + 10,
        max(a["y"] + a["height"], b["y"] + b["height"]) + 10,
    )
    page.keyboard.down("Shift")
    page.mouse.move(left, top)
    page.mouse.down()
    page.mouse.move(right, bottom, steps=10)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_function("document.querySelectorAll('.vue-flow__node.selected').length === 2")

    page.keyboard.press("Control+c")
    page.get_by_text("Copied 2 items.").wait_for()
    pane = page.locator(".vue-flow__pane").bounding_box()
    page.mouse.move(pane["x"] + pane["width"] * 0.5, pane["y"] + pane["height"] * 0.9)
    page.keyboard.press("Control+v")
    page.wait_for_function(f"document.querySelectorAll('.vue-flow__node').length === {nodes + 2}")
    draft = _draft(tmp_path, "lead-capture")
    assert len(draft.nodes) == nodes + 2
    pasted = [n.id for n in draft.nodes][-2:]
    assert any(e.source in pasted and e.target in pasted for e in draft.edges)  # the edge between them came too
    page.wait_for_function("document.querySelectorAll('.vue-flow__node.selected').length === 2")  # the copies

    page.keyboard.press("Control+z")
    page.wait_for_function(f"document.querySelectorAll('.vue-flow__node').length === {nodes}")
    assert len(_draft(tmp_path, "lead-capture").nodes) == nodes
    page.keyboard.press("Control+Shift+z")
    page.wait_for_function(f"document.querySelectorAll('.vue-flow__node').length === {nodes + 2}")

    # Delete removes the selection; the toolbar's undo brings it back
    page.click(_node("hello"))
    page.keyboard.press("Delete")
    page.wait_for_function(f"document.querySelectorAll('.vue-flow__node').length === {nodes + 1}")
    assert _draft(tmp_path, "lead-capture").node("hello") is None
    page.get_by_role("button", name="Undo").click()
    page.wait_for_selector(_node("hello"))
    assert _draft(tmp_path, "lead-capture").node("hello") is not None


def test_a_node_moved_by_hand_stays_where_it_was_put(server: str, page: Any, tmp_path: Path) -> None:
    _open(page, f"{server}/flows/lead-capture")
    before = _draft(tmp_path, "lead-capture").node("hello").ui  # type: ignore[union-attr]
    box = page.locator(_node("hello")).bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + 20, box["y"] + 210, steps=12)
    page.mouse.up()
    for _ in range(50):  # the move is saved when the drag stops: poll the draft
        after = _draft(tmp_path, "lead-capture").node("hello").ui  # type: ignore[union-attr]
        if after != before:
            break
        page.wait_for_timeout(100)
    assert after["y"] > before["y"] and after["x"] == before["x"]


def test_a_note_and_the_automatic_layout(server: str, page: Any, tmp_path: Path) -> None:
    _open(page, f"{server}/flows/lead-capture")
    page.get_by_role("button", name="Add a note").click()
    page.wait_for_selector('.vue-flow__node[data-id="note:note-1"]')
    page.get_by_label("Note", exact=True).fill("Ask sales which fields they need")
    page.locator(".chatloom-note").get_by_text("Ask sales which fields they need").wait_for()
    laid_out = {n.id: n.ui for n in _draft(tmp_path, "lead-capture").nodes}  # the template is tidy already
    card = page.locator(f"{_node('hello')} .cl-title").bounding_box()
    page.mouse.move(card["x"] + 10, card["y"] + 5)
    page.mouse.down()
    page.mouse.move(card["x"] + 10, card["y"] + 160, steps=10)
    page.mouse.up()
    for _ in range(50):
        before = {n.id: n.ui for n in _draft(tmp_path, "lead-capture").nodes}
        if before != laid_out:
            break
        page.wait_for_timeout(100)
    assert before["hello"]["y"] > laid_out["hello"]["y"]  # moved out of line by hand
    page.get_by_role("button", name="Arrange the flow from left to right").click()
    for _ in range(50):
        after = {n.id: n.ui for n in _draft(tmp_path, "lead-capture").nodes}
        if after != before:
            break
        page.wait_for_timeout(100)
    assert after != before and after["hello"] == laid_out["hello"]
    x = page.locator(_node("hello")).bounding_box()["x"]
    assert page.locator(_node("start")).bounding_box()["x"] < x  # drawn where the layout put it
    assert _draft(tmp_path, "lead-capture").notes[0].text == "Ask sales which fields they need"


def test_a_step_just_added_opens_ready_to_be_written(server: str, page: Any, tmp_path: Path) -> None:
    """Dropped or added by keyboard, a step is chosen, its settings open and the cursor is in its first
    field: typing fills it in at once, no click on the card or the field first."""
    page.goto(f"{server}/flows/lead-capture")
    page.wait_for_selector(_node("start"))
    _select(page, "start")  # another step chosen before: the new one takes its place, alone
    _drop(page, "message.send", (0.5, 0.8))
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.closest('[data-settings-of=\"send-1\"]')"
    )
    assert page.locator(".vue-flow__node.selected").count() == 1
    page.keyboard.type("Typed straight away")
    page.locator(_node("send-1")).get_by_text("Typed straight away").wait_for()  # saved: the card says it
    assert _draft(tmp_path, "lead-capture").node("send-1").settings["text"] == "Typed straight away"  # type: ignore[union-attr]

    # from the palette by keyboard: Enter on an entry adds it, and the cursor goes to its first field
    entry = page.locator('[data-node-type="input.email"]')
    entry.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.closest('[data-settings-of=\"email-1\"]')"
    )

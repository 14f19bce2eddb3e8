"""The editor's tools under the simulated user: undo/redo, copy/paste, duplicate, notes, layout,
the problems list and the palette search. The browser's side is in tests/browser."""

from __future__ import annotations

from nicegui.testing.user import User

from builder.canvas import FlowCanvas
from builder.context import TEMPLATES, Builder
from flows.document import parse_flow

LEAD = parse_flow((TEMPLATES / "lead_capture.json").read_bytes())


def _draft(builder: Builder):  # type: ignore[no-untyped-def]
    return builder.flows.draft("lead-capture")


async def _open(user: User, builder: Builder) -> FlowCanvas:
    builder.flows.save_draft(LEAD)
    await user.open("/flows/lead-capture")
    return user.find(FlowCanvas).elements.pop()


async def test_every_kind_of_edit_can_be_undone_and_redone(user: User, builder: Builder) -> None:
    await _open(user, builder)
    canvas = user.find(FlowCanvas)
    canvas.trigger("drop", {"type": "message.send", "x": 100, "y": 300})
    after_add = _draft(builder)
    canvas.trigger("connect", {"source": "send-1", "source_port": "out", "target": "name", "target_port": "in"})
    canvas.trigger("move", {"nodes": [{"id": "send-1", "x": 500, "y": 600}]})
    canvas.trigger("select", {"nodes": ["send-1"], "edges": []})
    await user.should_see(marker="field-text")
    user.find(marker="field-text").type("Hi")
    canvas.trigger("remove", {"nodes": ["send-1"], "edges": []})
    assert _draft(builder).node("send-1") is None

    history = []
    for _ in range(5):  # remove, settings, move, connect, add
        user.find(marker="undo").click()
        history.append(_draft(builder))
    assert history[0].node("send-1") is not None  # the removal undone, with its edge
    assert any(e.source == "send-1" for e in history[0].edges)
    assert history[1].node("send-1").settings.get("text", "") == ""  # type: ignore[union-attr]
    assert history[2].node("send-1").ui == after_add.node("send-1").ui  # type: ignore[union-attr]
    assert not any(e.source == "send-1" for e in history[3].edges)
    assert history[4] == LEAD
    assert not user.find(marker="undo").elements.pop().enabled
    canvas.trigger("command", {"name": "undo", "at": None, "nodes": [], "edges": []})  # Ctrl+Z
    await user.should_see("Nothing to undo.")

    for _ in range(5):
        user.find(marker="redo").click()
    assert _draft(builder).node("send-1") is None  # back to after the removal
    assert not user.find(marker="redo").elements.pop().enabled
    canvas.trigger("command", {"name": "redo", "at": None, "nodes": [], "edges": []})
    await user.should_see("Nothing to redo.")


async def test_keyboard_undo_arrives_as_a_command(user: User, builder: Builder) -> None:
    await _open(user, builder)
    canvas = user.find(FlowCanvas)
    canvas.trigger("move", {"nodes": [{"id": "hello", "x": 1, "y": 2}]})
    canvas.trigger("command", {"name": "undo", "at": None, "nodes": [], "edges": []})
    assert _draft(builder) == LEAD
    canvas.trigger("command", {"name": "redo", "at": None, "nodes": [], "edges": []})
    assert _draft(builder).node("hello").ui == {"x": 1, "y": 2}  # type: ignore[union-attr]


async def test_copy_then_paste_at_the_pointer_and_undo_it(user: User, builder: Builder) -> None:
    await _open(user, builder)
    canvas = user.find(FlowCanvas)
    canvas.trigger("command", {"name": "copy", "at": None, "nodes": ["name", "email"], "edges": []})
    await user.should_see("Copied 2 items.")
    canvas.trigger("command", {"name": "paste", "at": {"x": 900, "y": 900}, "nodes": [], "edges": []})
    draft = _draft(builder)
    new = [n for n in draft.nodes if LEAD.node(n.id) is None]
    assert len(new) == 2 and min(n.ui["x"] for n in new) == 900
    assert len(draft.edges) == len(LEAD.edges) + 1  # name → email came along
    canvas.trigger("command", {"name": "paste", "at": None, "nodes": [], "edges": []})
    assert len(_draft(builder).nodes) == len(LEAD.nodes) + 4  # the clipboard stays
    user.find(marker="undo").click()
    user.find(marker="undo").click()
    assert _draft(builder) == LEAD


async def test_a_copy_can_be_pasted_into_another_flow(user: User, builder: Builder) -> None:
    other = parse_flow((TEMPLATES / "faq_menu.json").read_bytes())
    builder.flows.save_draft(other)
    await _open(user, builder)
    user.find(FlowCanvas).trigger("command", {"name": "copy", "at": None, "nodes": ["email"], "edges": []})
    await user.open("/flows/faq-menu")
    user.find(FlowCanvas).trigger("command", {"name": "paste", "at": None, "nodes": [], "edges": []})
    pasted = [n for n in builder.flows.draft("faq-menu").nodes if other.node(n.id) is None]
    assert [n.type for n in pasted] == [LEAD.node("email").type]  # type: ignore[union-attr]


async def test_duplicate_and_what_cannot_be_copied(user: User, builder: Builder) -> None:
    await _open(user, builder)
    canvas = user.find(FlowCanvas)
    canvas.trigger("command", {"name": "duplicate", "at": None, "nodes": ["hello"], "edges": []})
    copies = [n for n in _draft(builder).nodes if LEAD.node(n.id) is None]
    assert len(copies) == 1 and copies[0].settings == LEAD.node("hello").settings  # type: ignore[union-attr]
    canvas.trigger("command", {"name": "duplicate", "at": None, "nodes": ["start"], "edges": []})
    await user.should_see("the start node cannot be duplicated")
    canvas.trigger("command", {"name": "paste", "at": None, "nodes": [], "edges": []})
    await user.should_see("Nothing to paste")


async def test_delete_button_removes_the_selection_but_never_the_start(user: User, builder: Builder) -> None:
    await _open(user, builder)
    canvas = user.find(FlowCanvas)
    canvas.trigger("command", {"name": "delete", "at": None, "nodes": ["start"], "edges": []})
    await user.should_see("start node cannot be deleted")
    assert _draft(builder) == LEAD
    canvas.trigger("command", {"name": "delete", "at": None, "nodes": ["hello", "name"], "edges": []})
    assert _draft(builder).node("hello") is None and _draft(builder).node("name") is None


async def test_a_note_is_added_written_and_undone(user: User, builder: Builder) -> None:
    await _open(user, builder)
    user.find(marker="add-note").click()
    note = _draft(builder).notes[0]
    user.find(FlowCanvas).trigger("select", {"nodes": [f"note:{note.id}"], "edges": []})
    await user.should_see(marker="note-text")
    user.find(marker="note-text").type("Check with sales")
    assert _draft(builder).notes[0].text == "Check with sales"
    user.find(marker="undo").click()  # the typing, as one step
    assert _draft(builder).notes[0].text == ""
    user.find(marker="undo").click()
    assert _draft(builder).notes == []


async def test_automatic_layout_can_be_undone(user: User, builder: Builder) -> None:
    messy = LEAD.model_copy(
        update={"nodes": [n.model_copy(update={"ui": {"x": 7 * i, "y": 0}}) for i, n in enumerate(LEAD.nodes)]}
    )
    builder.flows.save_draft(messy)
    await user.open("/flows/lead-capture")
    user.find(marker="layout").click()
    laid = _draft(builder)
    assert [n.ui for n in laid.nodes] == [n.ui for n in LEAD.nodes]  # the template is laid out the same way
    assert laid.model_copy(update={"nodes": messy.nodes}) == messy  # only positions changed
    user.find(marker="undo").click()
    assert _draft(builder) == messy


async def test_problems_are_listed_and_a_click_focuses_the_node(user: User, builder: Builder) -> None:
    await _open(user, builder)
    await user.should_see(marker="problems-none")
    user.find(FlowCanvas).trigger("drop", {"type": "message.send", "x": 0, "y": 900})
    await user.should_see(marker="problems-count")
    await user.should_see(marker="problem-send-1")
    await user.should_see("“Send message” can never be reached")  # the step by its title, not its id
    await user.should_not_see("'send-1'")
    user.find(marker="problem-send-1").click()
    await user.should_see(marker="selected-node")
    await user.should_see(marker="field-text")  # its settings are open
    user.find(marker="undo").click()
    await user.should_see(marker="problems-none")


async def test_the_palette_search_hides_what_does_not_match(user: User, builder: Builder) -> None:
    await _open(user, builder)
    user.find(marker="palette-search").type("email")
    await user.should_see(marker="palette-input.email")
    await user.should_not_see(marker="palette-message.send")
    await user.should_not_see(marker="category-logic")

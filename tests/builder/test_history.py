"""Undo and redo lists, and the graph edits behind copy/paste, notes and automatic layout."""

from __future__ import annotations

import pytest

from builder import graph_edit
from builder.context import TEMPLATES
from builder.graph_edit import Refused
from builder.history import LIMIT, History
from flows.document import parse_flow
from flows.models import Flow
from flows.validate import validate
from nodes.registry import Registry

LEAD = parse_flow((TEMPLATES / "lead_capture.json").read_bytes())


def _named(name: str) -> Flow:
    return LEAD.model_copy(update={"name": name})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_undo_and_redo_walk_back_and_forth() -> None:
    history = History()
    a, b, c = _named("a"), _named("b"), _named("c")
    history.record(a, "first")
    history.record(b, "second")
    undone = history.undo(c)
    assert undone is not None and undone.flow is b and undone.label == "second"
    undone = history.undo(b)
    assert undone is not None and undone.flow is a
    assert history.undo(a) is None
    redone = history.redo(a)
    assert redone is not None and redone.flow is b
    redone = history.redo(b)
    assert redone is not None and redone.flow is c
    assert history.redo(c) is None


def test_a_new_edit_clears_what_could_be_redone() -> None:
    history = History()
    history.record(_named("a"), "first")
    history.undo(_named("b"))
    assert history.redos
    history.record(_named("a"), "other")
    assert not history.redos


def test_typing_in_one_field_is_one_step_but_a_pause_or_another_field_is_not() -> None:
    clock = Clock()
    history = History(clock=clock)
    first = _named("before typing")
    history.record(first, "change settings", key="settings:hello")
    for _ in range(5):
        clock.now += 0.2
        history.record(_named("typing"), "change settings", key="settings:hello")
    assert len(history.undos) == 1 and history.undos[0].flow is first
    clock.now += 5
    history.record(_named("later"), "change settings", key="settings:hello")
    history.record(_named("other"), "change settings", key="settings:name")
    assert len(history.undos) == 3


def test_history_keeps_the_last_hundred_edits() -> None:
    history = History()
    for i in range(LIMIT + 20):
        history.record(_named(str(i)), "edit")
    assert len(history.undos) == LIMIT
    assert history.undos[0].flow.name == "20"


def test_copy_and_paste_bring_the_edges_between_the_nodes_under_new_ids() -> None:
    clip = graph_edit.copy(LEAD, {"hello", "name", "email"})
    assert {n["id"] for n in clip["nodes"]} == {"hello", "name", "email"}
    inside = {(e["source"], e["target"]) for e in clip["edges"]}
    assert inside == {(e.source, e.target) for e in LEAD.edges if {e.source, e.target} <= {"hello", "name", "email"}}
    pasted, node_ids, _ = graph_edit.paste(LEAD, clip, at=(1000, 500))
    assert len(node_ids) == 3 and not set(node_ids) & {n.id for n in LEAD.nodes}
    new_edges = pasted.edges[len(LEAD.edges) :]
    assert len(new_edges) == len(inside)
    assert all(e.source in node_ids and e.target in node_ids for e in new_edges)
    assert min(n.ui["x"] for n in pasted.nodes if n.id in node_ids) == 1000
    assert min(n.ui["y"] for n in pasted.nodes if n.id in node_ids) == 500
    copies = {n.id: n for n in pasted.nodes if n.id in node_ids}
    originals = [LEAD.node(i) for i in ("hello", "name", "email")]
    assert sorted(repr(n.settings) for n in copies.values()) == sorted(repr(n.settings) for n in originals if n)


def test_the_start_node_is_never_copied() -> None:
    clip = graph_edit.copy(LEAD, {"start"})
    assert clip["nodes"] == []
    with pytest.raises(Refused, match="Nothing to paste"):
        graph_edit.paste(LEAD, clip)


def test_a_damaged_clipboard_is_refused_whole() -> None:
    with pytest.raises(Refused, match="cannot be pasted"):
        graph_edit.paste(LEAD, {"nodes": [{"id": "bad id!", "type": "message.send"}]})
    with pytest.raises(Refused, match="cannot be pasted"):
        graph_edit.paste(LEAD, {"nodes": "nope"})


def test_notes_are_added_written_moved_and_removed() -> None:
    flow, note = graph_edit.add_note(LEAD, 10, 20)
    flow = graph_edit.set_note_text(flow, note.id, "Ask sales about this step")
    flow = graph_edit.move(flow, {}, {note.id: (50, 60)})
    assert flow.notes[0].text == "Ask sales about this step" and flow.notes[0].ui == {"x": 50, "y": 60}
    with pytest.raises(Refused, match="at most 5,000"):
        graph_edit.set_note_text(flow, note.id, "x" * 5001)
    assert graph_edit.remove(flow, set(), set(), frozenset({note.id})).notes == []


def test_automatic_layout_puts_each_step_right_of_the_one_before(builtins: Registry) -> None:
    scrambled = graph_edit.move(LEAD, {n.id: (0, 0) for n in LEAD.nodes})
    laid = graph_edit.auto_layout(scrambled, builtins)
    x = {n.id: n.ui["x"] for n in laid.nodes}
    for e in LEAD.edges:
        if e.target != LEAD.start:
            assert x[e.target] >= x[e.source], e
    positions = [(n.ui["x"], n.ui["y"]) for n in laid.nodes]
    assert len(set(positions)) == len(positions)  # no two cards on one spot
    assert validate(laid, builtins) == validate(LEAD, builtins)  # layout never changes what the flow does

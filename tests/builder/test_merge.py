"""Two people's changes to one draft, merged element by element (builder/merge.py)."""

from __future__ import annotations

from builder.context import TEMPLATES
from builder.merge import rebase
from flows.document import parse_flow
from flows.models import Edge, Flow, Node

LEAD = parse_flow((TEMPLATES / "lead_capture.json").read_bytes())


def _set(flow: Flow, node_id: str, **settings: object) -> Flow:
    return flow.model_copy(
        update={
            "nodes": [
                n.model_copy(update={"settings": {**n.settings, **settings}}) if n.id == node_id else n
                for n in flow.nodes
            ]
        }
    )


def test_two_fields_of_one_step_changed_by_two_people_both_stay() -> None:
    mine = _set(LEAD, "email", prompt="Your email, please?")
    theirs = _set(LEAD, "email", retries=5)
    merged, clashes = rebase(LEAD, mine, theirs)
    email = merged.node("email")
    assert email is not None and email.settings["prompt"] == "Your email, please?" and email.settings["retries"] == 5
    assert clashes == []


def test_the_same_field_ends_with_the_later_edit_and_the_clash_is_named() -> None:
    mine = _set(LEAD, "hello", text="Hello from me")
    theirs = _set(LEAD, "hello", text="Hello from them")
    merged, clashes = rebase(LEAD, mine, theirs)
    assert merged.node("hello").settings["text"] == "Hello from me"  # type: ignore[union-attr]
    assert clashes == ["step hello (text)"]


def test_an_undo_keeps_what_someone_did_after_the_edit_it_undoes() -> None:
    before, after = LEAD, _set(LEAD, "hello", text="Mine")
    later = _set(after, "hello", text="Theirs, typed after mine")  # someone changed the same field since
    later = _set(later, "email", retries=7)
    undone, clashes = rebase(after, before, later, prefer="theirs")
    assert undone.node("hello").settings["text"] == "Theirs, typed after mine"  # type: ignore[union-attr]
    assert undone.node("email").settings["retries"] == 7  # type: ignore[union-attr]
    assert clashes == ["step hello (text)"]
    alone, _ = rebase(after, before, _set(after, "email", retries=7), prefer="theirs")
    assert alone.node("hello").settings["text"] == LEAD.node("hello").settings["text"]  # type: ignore[union-attr]
    assert alone.node("email").settings["retries"] == 7  # type: ignore[union-attr]


def test_steps_added_by_each_side_are_all_kept_and_a_deleted_step_takes_its_lines() -> None:
    a = Node(id="a", type="message.send", settings={"text": "A"})
    b = Node(id="b", type="message.send", settings={"text": "B"})
    mine = LEAD.model_copy(
        update={"nodes": [*LEAD.nodes, a], "edges": [*LEAD.edges, Edge(id="ea", source="a", target="email")]}
    )
    theirs = LEAD.model_copy(
        update={
            "nodes": [*(n for n in LEAD.nodes if n.id != "email"), b],
            "edges": [e for e in LEAD.edges if "email" not in (e.source, e.target)],
        }
    )
    merged, _ = rebase(LEAD, mine, theirs)
    ids = {n.id for n in merged.nodes}
    assert {"a", "b"} <= ids and "email" not in ids
    assert all(e.source in ids and e.target in ids for e in merged.edges)  # no line to a step that is gone


def test_one_exit_joined_by_two_people_at_once_leads_one_way() -> None:
    free = [e for e in LEAD.edges if e.source != "hello"]
    base = LEAD.model_copy(update={"edges": free})
    mine = base.model_copy(update={"edges": [*free, Edge(id="e-mine", source="hello", target="name")]})
    theirs = base.model_copy(update={"edges": [*free, Edge(id="e-theirs", source="hello", target="email")]})
    merged, clashes = rebase(base, mine, theirs)
    from_hello = [e for e in merged.edges if e.source == "hello"]
    assert [e.target for e in from_hello] == ["name"] and clashes == ["step hello (out)"]
    kept, _ = rebase(base, mine, theirs, prefer="theirs")
    assert [e.target for e in kept.edges if e.source == "hello"] == ["email"]


def test_nothing_changed_on_my_side_gives_theirs_unchanged() -> None:
    theirs = _set(LEAD, "hello", text="Theirs")
    merged, clashes = rebase(LEAD, LEAD, theirs)
    assert merged == theirs and clashes == []

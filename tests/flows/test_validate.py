"""Flow validation reports every problem at once, each with where it is, in plain words."""

from __future__ import annotations

from flows.document import flow_from_data
from flows.problems import Problem
from flows.validate import validate
from tests.runtime.testnodes import chain, registry


def problems(doc: dict) -> list[Problem]:
    return validate(flow_from_data(doc), registry())


def codes(found: list[Problem]) -> set[tuple[str, str | None, str]]:
    return {(p.code, p.node_id or p.edge_id, p.severity) for p in found}


def test_a_good_flow_has_no_problems() -> None:
    doc = chain("ok", ("s", "test.start", {}), ("q", "test.ask", {}), ("e", "test.end", {}))
    assert problems(doc) == []


def test_every_problem_is_reported_at_once() -> None:
    doc = {
        "id": "messy",
        "name": "Messy",
        "start": "s",
        "nodes": [
            {"id": "s", "type": "test.start"},
            {"id": "a", "type": "test.say", "settings": {"text": 42}},
            {"id": "a", "type": "test.say"},
            {"id": "lonely", "type": "test.say", "settings": {"text": "nobody comes here"}},
            {"id": "ghost", "type": "acme.thing"},
            {"id": "ghost2", "type": "acme.thing"},
            {"id": "tpl", "type": "test.say", "settings": {"text": "Hi {{ name "}},
        ],
        "edges": [
            {"id": "e1", "source": "s", "target": "a"},
            {"id": "e2", "source": "a", "target": "nowhere"},
            {"id": "e3", "source": "a", "source_port": "sideways", "target": "tpl"},
            {"id": "e4", "source": "s", "target": "ghost"},
        ],
    }
    found = problems(doc)
    got = codes(found)
    assert ("duplicate_node", "a", "error") in got
    assert ("settings", "a", "error") in got
    assert ("edge_target", "e2", "error") in got
    assert ("edge_port", "a", "error") in got
    assert ("unknown_type", "ghost", "error") in got
    assert ("settings", "tpl", "error") in got
    assert ("unreachable", "lonely", "warning") in got
    assert ("dead_end", "lonely", "warning") in got
    assert ("edge_fanout", "s", "error") in got
    unknown = next(p for p in found if p.code == "unknown_type")
    assert "ghost, ghost2" in unknown.message and "acme.thing" in unknown.message
    settings = next(p for p in found if p.code == "settings" and p.node_id == "a")
    assert "text" in settings.message
    assert found.index(unknown) < found.index(next(p for p in found if p.severity == "warning"))


def test_missing_or_wrong_start_is_an_error() -> None:
    doc = chain("nostart", ("s", "test.start", {}), ("e", "test.end", {}))
    assert ("no_start", None, "error") in codes(problems({**doc, "start": None}))
    wrong = problems({**doc, "start": "zzz"})
    assert any(p.code == "no_start" and "zzz" in p.message for p in wrong)


def test_a_loop_in_which_the_bot_never_waits_is_found() -> None:
    endless = chain(
        "endless",
        ("s", "test.start", {}),
        ("a", "test.say", {}),
        ("b", "test.say", {}),
        edges=[("s", "out", "a"), ("a", "out", "b"), ("b", "out", "a")],
    )
    found = problems(endless)
    assert ("endless_loop", "a", "error") in codes(found)
    assert "a, b" in next(p.message for p in found if p.code == "endless_loop")

    exit_possible = chain(
        "counter",
        ("s", "test.start", {}),
        ("c", "test.count", {}),
        ("e", "test.end", {}),
        edges=[("s", "out", "c"), ("c", "loop", "c"), ("c", "done", "e")],
    )
    assert ("busy_loop", "c", "warning") in codes(problems(exit_possible))

    waits = chain(
        "menu",
        ("s", "test.start", {}),
        ("q", "test.ask", {}),
        ("a", "test.say", {}),
        edges=[("s", "out", "q"), ("q", "out", "a"), ("a", "out", "q")],
    )
    assert problems(waits) == []


def test_an_end_node_is_not_a_dead_end_but_a_silent_stop_is() -> None:
    doc = chain("ends", ("s", "test.start", {}), ("a", "test.say", {"text": "bye"}))
    assert ("dead_end", "a", "warning") in codes(problems(doc))
    doc = chain("ends2", ("s", "test.start", {}), ("a", "test.say", {"text": "bye"}), ("e", "test.end", {}))
    assert problems(doc) == []


def test_an_empty_flow_says_so() -> None:
    assert ("empty", None, "error") in codes(problems({"id": "empty", "name": "Empty", "nodes": [], "edges": []}))


def test_a_500_node_chain_is_clean_and_a_break_in_it_is_found() -> None:
    # speed is the benchmark's business (benchmarks/bench_validate.py); this checks the result
    specs = [("s", "test.start", {})] + [(f"n{i}", "test.say", {"text": f"step {i}"}) for i in range(498)]
    specs.append(("e", "test.end", {}))
    doc = chain("big", *specs)
    assert problems(doc) == []
    doc["edges"] = [e for e in doc["edges"] if e["source"] != "n250"]
    assert {("dead_end", "n250", "warning"), ("unreachable", "e", "warning")} <= codes(problems(doc))


def test_invalid_settings_are_reported_once_not_again_on_every_connection(builtins) -> None:  # type: ignore[no-untyped-def]
    doc = {
        "id": "menu",
        "name": "Menu",
        "start": "s",
        "nodes": [
            {"id": "s", "type": "flow.start"},
            {"id": "q", "type": "input.choice", "settings": {"prompt": "?", "save_as": "x", "options": []}},
            {"id": "a", "type": "flow.end"},
        ],
        "edges": [
            {"id": "e1", "source": "s", "target": "q"},
            {"id": "e2", "source": "q", "source_port": "opt_a", "target": "a"},
        ],
    }
    found = validate(flow_from_data(doc), builtins)
    assert [p.code for p in found if p.node_id == "q" and p.severity == "error"] == ["settings"]

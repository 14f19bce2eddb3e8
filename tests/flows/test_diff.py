"""What changed between two versions of a flow."""

from __future__ import annotations

import json
from pathlib import Path

from flows.diff import diff
from flows.document import flow_from_data
from flows.models import Note

TEMPLATE = json.loads((Path(__file__).resolve().parents[2] / "flows" / "templates" / "quiz.json").read_text())


def test_moving_nodes_is_not_a_change() -> None:
    moved = json.loads(json.dumps(TEMPLATE))
    for node in moved["nodes"]:
        node["ui"] = {"x": 1, "y": 2}
    found = diff(flow_from_data(TEMPLATE), flow_from_data(moved))
    assert found.empty and found.sentence().startswith("No changes")


def test_added_removed_changed_and_rewired_nodes_are_named() -> None:
    new = json.loads(json.dumps(TEMPLATE))
    new["name"] = "Planets"
    new["nodes"] = [n for n in new["nodes"] if n["id"] != "perfect"]
    new["edges"] = [e for e in new["edges"] if e["target"] != "perfect"]
    new["nodes"].append({"id": "bonus", "type": "message.send", "settings": {"text": "Bonus!"}})
    new["edges"].append({"id": "eb", "source": "verdict", "source_port": "perfect", "target": "bonus"})
    next(n for n in new["nodes"] if n["id"] == "intro")["settings"]["text"] = "Ready?"
    found = diff(flow_from_data(TEMPLATE), flow_from_data(new))
    assert (found.added, found.removed, found.changed) == (["bonus"], ["perfect"], ["intro"])
    assert (found.connected, found.disconnected, found.renamed) == (1, 1, True)
    assert found.sentence() == (
        "1 node added (bonus); 1 node removed (perfect); 1 node changed (intro); "
        "1 connection added; 1 connection removed; renamed."
    )


def test_notes_written_are_a_change_but_moved_notes_are_not() -> None:
    base = flow_from_data(TEMPLATE)
    noted = base.model_copy(update={"notes": [Note(id="note-1", text="Ask sales", ui={"x": 0, "y": 0})]})
    moved = noted.model_copy(update={"notes": [Note(id="note-1", text="Ask sales", ui={"x": 90, "y": 9})]})
    assert diff(noted, moved).empty
    d = diff(base, noted)
    assert d.notes_changed and d.sentence() == "notes edited."

"""A node type that changes its settings bumps its version and migrates old flows, which keep loading."""

from __future__ import annotations

from pydantic import BaseModel

from flows.document import flow_from_data
from flows.validate import validate
from nodes.api import NodeContext, NodeType, Outbound, Step
from nodes.registry import Registry
from runtime.plan import compile_flow
from tests.runtime.testnodes import TYPES


class GreetV2(BaseModel):
    greeting: str  # was "text" in version 1
    shout: bool = False


async def _greet(ctx: NodeContext, s: GreetV2) -> Step:
    return Step.next("out", Outbound(s.greeting.upper() if s.shout else s.greeting))


def _v1_to_v2(old: dict) -> dict:
    return {"greeting": old.get("text", ""), "shout": False}


GREET = NodeType("acme.greet", 2, "Greet", "Acme", GreetV2, _greet, migrations={1: _v1_to_v2})


def doc(version: int, settings: dict) -> dict:
    return {
        "id": "old",
        "name": "Old",
        "start": "s",
        "nodes": [
            {"id": "s", "type": "test.start"},
            {"id": "g", "type": "acme.greet", "version": version, "settings": settings},
            {"id": "e", "type": "test.end"},
        ],
        "edges": [{"id": "a", "source": "s", "target": "g"}, {"id": "b", "source": "g", "target": "e"}],
    }


async def test_a_flow_saved_with_an_old_version_of_a_node_type_still_runs() -> None:
    registry = Registry.of([*TYPES, GREET])
    plan = compile_flow(flow_from_data(doc(1, {"text": "Hello"})), registry)
    settings = plan.nodes["g"].settings
    assert isinstance(settings, GreetV2) and settings.greeting == "Hello"
    step = await GREET.run(NodeContext(), settings)
    assert step.messages[0].text == "Hello"


def test_a_flow_from_a_newer_plugin_says_to_update_it() -> None:
    registry = Registry.of([*TYPES, GREET])
    problems = validate(flow_from_data(doc(3, {"greeting": "Hi"})), registry)
    assert any(p.node_id == "g" and "version 3" in p.message and "Update the plugin" in p.message for p in problems)


def test_a_plugin_with_a_gap_in_its_migrations_is_rejected() -> None:
    broken = NodeType("acme.gappy", 3, "Gappy", "Acme", GreetV2, _greet, migrations={1: _v1_to_v2})
    registry = Registry.of([broken])
    assert "acme.gappy" not in registry
    assert "migrations are missing" in registry.errors[0].reason


def test_a_setting_the_node_type_does_not_have_is_reported_not_ignored() -> None:
    registry = Registry.of([*TYPES, GREET])
    problems = validate(flow_from_data(doc(2, {"greeting": "Hi", "shuot": True})), registry)
    assert any(p.node_id == "g" and "“shuot” is not a setting of “Greet”" in p.message for p in problems)

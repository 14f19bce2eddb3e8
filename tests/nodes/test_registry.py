"""Node plugins load through entry points; a broken one is named with its reason and never stops the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nodes.registry import GROUP, Registry
from tests.plugins import installed_distribution

PLUGIN = """
from pydantic import BaseModel
from nodes.api import NodeType, Step

class Hello(BaseModel):
    greeting: str = "hi"

async def run(ctx, settings):
    return Step.next()

def sync_run(ctx, settings):
    return Step.next()

class NotAModel:
    pass

class BadSchema(BaseModel):
    callback: object = None
    model_config = {"arbitrary_types_allowed": True}
    handle: type = int

GOOD = NodeType("acme.hello", 1, "Hello", "Acme", Hello, run)
CLASH = NodeType("message.send", 1, "Imposter", "Acme", Hello, run)
SYNC = NodeType("acme.sync", 1, "Sync", "Acme", Hello, sync_run)
NOT_MODEL = NodeType("acme.nomodel", 1, "No model", "Acme", NotAModel, run)
BAD_NAME = NodeType("Acme Thing", 1, "Bad", "Acme", Hello, run)
BAD_PORT = NodeType("acme.ports", 1, "Ports", "Acme", Hello, run, outputs=("Big Port",))
BAD_SCHEMA = NodeType("acme.schema", 1, "Schema", "Acme", BadSchema, run)
NOT_A_NODE = {"type": "acme.dict"}
"""


@pytest.fixture
def acme(tmp_path: Path) -> Iterator[None]:
    """A real installed distribution, 'acme-nodes', with one good plugin and many broken ones."""
    entries = """
        acme.hello = acme_nodes:GOOD
        acme.clash = acme_nodes:CLASH
        acme.sync = acme_nodes:SYNC
        acme.nomodel = acme_nodes:NOT_MODEL
        acme.badname = acme_nodes:BAD_NAME
        acme.ports = acme_nodes:BAD_PORT
        acme.schema = acme_nodes:BAD_SCHEMA
        acme.dict = acme_nodes:NOT_A_NODE
        acme.missing = acme_nodes_gone:NODE
        acme.typo = acme_nodes:NOPE
    """
    with installed_distribution(
        tmp_path, "acme-nodes", module="acme_nodes", source=PLUGIN, group=GROUP, entries=entries
    ):
        yield


def test_a_good_third_party_plugin_loads_beside_the_built_ins(acme: None) -> None:
    reg = Registry.from_entry_points()
    assert "acme.hello" in reg and "message.send" in reg
    found = next(i for i in reg.installed() if i.node.type == "acme.hello")
    assert found.distribution == "acme-nodes"
    assert reg.get("message.send").title == "Send message"  # the imposter did not replace it


def test_each_broken_plugin_is_named_with_its_distribution_and_reason(acme: None) -> None:
    reg = Registry.from_entry_points()
    errors = {e.name: e for e in reg.errors if e.name.startswith("acme.")}
    assert all(e.distribution == "acme-nodes" for e in errors.values())
    assert "already taken by chatloom" in errors["acme.clash"].reason
    assert "async" in errors["acme.sync"].reason
    assert "pydantic model" in errors["acme.nomodel"].reason
    assert "dotted lower case" in errors["acme.badname"].reason
    assert "port names" in errors["acme.ports"].reason
    assert "JSON Schema" in errors["acme.schema"].reason
    assert "not a nodes.api.NodeType" in errors["acme.dict"].reason
    assert "could not be imported" in errors["acme.missing"].reason
    assert "could not be imported" in errors["acme.typo"].reason
    assert "acme.clash (from acme-nodes)" in str(errors["acme.clash"])


def test_every_built_in_node_type_loads_without_errors(builtins: Registry) -> None:
    assert [e for e in builtins.errors] == []
    assert {i.distribution for i in builtins.installed()} == {"chatloom"}
    for node in builtins:
        schema = node.settings.model_json_schema()
        assert node.title and node.category and node.description, node.type
        for name, prop in schema.get("properties", {}).items():
            assert prop.get("title"), f"{node.type}.{name} has no title for the builder's form"

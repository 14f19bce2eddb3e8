"""Flows in the database: drafts that change, published versions that never do."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from flows.document import dump_flow, flow_from_data
from flows.problems import FlowInvalid
from flows.store import FlowNotFound, FlowStore
from tests.runtime.testnodes import chain, registry

DOC = chain("lead", ("s", "test.start", {}), ("q", "test.ask", {"prompt": "Email?"}), ("e", "test.end", {}))


def test_drafts_save_and_reload_exactly(engine: Engine) -> None:
    store = FlowStore(engine)
    flow = flow_from_data(DOC)
    store.save_draft(flow)
    assert dump_flow(store.draft("lead")) == dump_flow(flow)
    renamed = flow.model_copy(update={"name": "Leads 2"})
    store.save_draft(renamed)
    assert store.draft("lead").name == "Leads 2"
    assert [f.id for f in store.list()] == ["lead"]


def test_published_versions_are_immutable_snapshots(engine: Engine) -> None:
    store = FlowStore(engine)
    store.save_draft(flow_from_data(DOC))
    assert store.publish("lead", registry(), note="first") == 1
    changed = flow_from_data({**DOC, "name": "Changed"})
    store.save_draft(changed)
    assert store.version("lead", 1).flow.name == "Lead"
    assert store.version("lead").version == 1
    assert store.publish("lead", registry()) == 2
    assert store.version("lead").flow.name == "Changed"
    assert [(v.version, v.note) for v in store.versions("lead")] == [(2, ""), (1, "first")]
    assert store.list()[0].latest_version == 2


def test_a_flow_with_errors_is_not_published_and_nothing_is_saved(engine: Engine) -> None:
    store = FlowStore(engine)
    broken = {**DOC, "edges": [*DOC["edges"], {"id": "bad", "source": "q", "target": "void"}]}
    store.save_draft(flow_from_data(broken))
    with pytest.raises(FlowInvalid) as err:
        store.publish("lead", registry())
    assert any(p.edge_id == "bad" for p in err.value.problems)
    assert store.versions("lead") == []


def test_missing_flows_and_versions_are_said_plainly(engine: Engine) -> None:
    store = FlowStore(engine)
    with pytest.raises(FlowNotFound, match="no flow 'nope'"):
        store.draft("nope")
    store.save_draft(flow_from_data(DOC))
    with pytest.raises(FlowNotFound, match="no version 7"):
        store.version("lead", 7)
    with pytest.raises(FlowNotFound, match="no published version"):
        store.version("lead")
    store.delete("lead")
    assert store.list() == []

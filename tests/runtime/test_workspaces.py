"""Workspaces keep teams apart: a member sees and touches only their workspaces' flows, and what
follows from them (conversations, knowledge); retention and masking are set per workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.engine import Engine

from flows.document import flow_from_data
from nodes.api import Inbound
from nodes.registry import Registry
from runtime.access import Access
from runtime.api import create_app
from runtime.engine import Runtime
from runtime.retention import DAY, Retention
from runtime.store import CONV
from runtime.workspaces import DEFAULT, WorkspaceError, Workspaces
from tests.access import account, api_headers
from tests.runtime.test_access import FLOW, client
from tests.runtime.test_accounts import Clock


@pytest.fixture
async def app(engine: Engine, builtins: Registry) -> AsyncIterator[FastAPI]:
    runtime = Runtime(engine, builtins)
    made = create_app(runtime)
    access: Access = made.state.access
    acme = access.workspaces.create("Acme")
    for flow_id, place in (("hello", DEFAULT), ("acme-bot", acme.id)):
        runtime.flows.save_draft(flow_from_data({**FLOW, "id": flow_id, "name": flow_id}))
        runtime.flows.publish(flow_id, builtins)
        access.workspaces.place(flow_id, place)
    editor = account(access, "editor")  # a member of the default workspace…
    access.workspaces.set_member(DEFAULT, editor.id, False)  # … moved to Acme only
    access.workspaces.set_member(acme.id, editor.id, True)
    async with made.router.lifespan_context(made):
        yield made


async def test_a_member_sees_and_uses_only_their_workspaces_flows(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    theirs, _ = await runtime.start("hello", user_id="someone")  # a conversation of the default workspace
    async with client(app, **api_headers(app, role="editor")) as http:
        assert [f["id"] for f in (await http.get("/api/flows")).json()] == ["acme-bot"]
        refused = await http.post("/api/flows/hello/conversations", json={})
        assert refused.status_code == 404 and "workspaces" in refused.json()["detail"]
        mine = await http.post("/api/flows/acme-bot/conversations", json={})
        assert mine.status_code == 201
        assert (await http.get(f"/api/conversations/{theirs}")).status_code == 404
        assert (await http.post(f"/api/conversations/{theirs}/messages", json={"text": "x"})).status_code == 404
        assert (await http.get(f"/api/conversations/{theirs}/messages")).status_code == 404
        assert (await http.get("/api/bots/hello/knowledge")).status_code == 404
        assert (await http.get(f"/api/conversations/{mine.json()['conversation_id']}")).status_code == 200
    async with client(app, **api_headers(app)) as http:  # the owner sees every workspace
        assert {f["id"] for f in (await http.get("/api/flows")).json()} == {"hello", "acme-bot"}
        assert (await http.get(f"/api/conversations/{theirs}")).status_code == 200


async def test_retention_and_masking_are_per_workspace(app: FastAPI, engine: Engine) -> None:
    runtime: Runtime = app.state.runtime
    clock = Clock()
    retention = Retention(runtime, clock=clock)
    retention.configure(30, True, "acme")
    acme_cid, _ = await runtime.start("acme-bot", user_id="a")
    default_cid, _ = await runtime.start("hello", user_id="d")
    for cid in (acme_cid, default_cid):
        await runtime.send(cid, Inbound(text="Ann, ann@example.com"))
    said = {
        cid: [m.payload.get("text") for m in runtime.store.messages(cid) if m.direction == "in"]
        for cid in (acme_cid, default_cid)
    }
    assert said[acme_cid] == ["Ann, [email]"] and said[default_cid] == ["Ann, ann@example.com"]
    with engine.begin() as conn:
        conn.execute(update(CONV).values(updated_at=clock.now - 40 * DAY))
    counts = await retention.sweep()
    assert counts["conversations"] == 1
    assert runtime.store.load(acme_cid) is None and runtime.store.load(default_cid) is not None  # default keeps all
    [entry] = app.state.access.audit.entries(action="retention.sweep")
    assert entry.target == "acme"


def test_workspace_names_and_members(engine: Engine) -> None:
    spaces = Workspaces(engine)
    assert [w.id for w in spaces.all()] == [DEFAULT]
    made = spaces.create("Sales & Support")
    assert made.id == "sales-support"
    with pytest.raises(WorkspaceError, match="already a workspace"):
        spaces.create("sales support")
    with pytest.raises(WorkspaceError, match="letters or digits"):
        spaces.create("!!!")
    assert spaces.set_member("sales-support", "u1", True) and not spaces.set_member("sales-support", "u1", True)
    assert spaces.visible("u1", "editor") == {"sales-support"} and spaces.visible("u1", "admin") is None
    with pytest.raises(WorkspaceError, match="no workspace"):
        spaces.place("f", "nowhere")
    assert spaces.of_flow("never-placed") == DEFAULT


async def test_an_account_in_no_workspace_sees_no_flow(app: FastAPI) -> None:
    access: Access = app.state.access
    viewer = account(access, "viewer")
    access.workspaces.set_member(DEFAULT, viewer.id, False)
    async with client(app, **api_headers(app, role="viewer")) as http:
        assert (await http.get("/api/flows")).json() == []
        r = await http.get("/api/bots/hello/knowledge")
        assert r.status_code == 404

"""The runtime's HTTP API, through a real ASGI app with its lifespan (timers run)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from flows.document import flow_from_data
from nodes.registry import Registry
from runtime.api import MAX_BODY, create_app
from runtime.engine import Runtime

FLOW = {
    "id": "signup",
    "name": "Sign-up",
    "start": "s",
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {"id": "hi", "type": "message.send", "settings": {"text": "Hello {{ user.id }}!"}},
        {"id": "q", "type": "input.yesno", "settings": {"prompt": "Join the list?", "save_as": "joined"}},
        {"id": "mail", "type": "input.email", "settings": {"prompt": "Your email?", "save_as": "email"}},
        {"id": "wait", "type": "flow.wait", "settings": {"amount": 1, "unit": "seconds"}},
        {"id": "thanks", "type": "flow.end", "settings": {"message": "Welcome, {{ email }}."}},
        {"id": "bye", "type": "flow.end", "settings": {"message": "Maybe later."}},
    ],
    "edges": [
        {"id": "e1", "source": "s", "target": "hi"},
        {"id": "e2", "source": "hi", "target": "q"},
        {"id": "e3", "source": "q", "source_port": "yes", "target": "mail"},
        {"id": "e4", "source": "q", "source_port": "no", "target": "bye"},
        {"id": "e5", "source": "mail", "source_port": "valid", "target": "wait"},
        {"id": "e6", "source": "wait", "target": "thanks"},
    ],
}


@pytest.fixture
async def client(engine: Engine, builtins: Registry) -> AsyncIterator[httpx.AsyncClient]:
    runtime = Runtime(engine, builtins, wait_scale=0.01)
    runtime.flows.save_draft(flow_from_data(FLOW))
    runtime.flows.publish("signup", builtins)
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://chatloom.test") as c:
            yield c


async def start(client: httpx.AsyncClient) -> tuple[str, list[dict]]:
    r = await client.post("/api/flows/signup/conversations", json={"user_id": "ann"})
    assert r.status_code == 201, r.text
    body = r.json()
    return body["conversation_id"], body["messages"]


async def test_a_whole_conversation_over_http(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/api/flows")).json() == [{"id": "signup", "name": "Sign-up", "latest_version": 1}]
    cid, first = await start(client)
    assert first == [
        {"text": "Hello ann!", "buttons": None, "media": None, "multiple": None},
        {
            "text": "Join the list?",
            "buttons": [{"title": "Yes", "value": "yes"}, {"title": "No", "value": "no"}],
            "media": None,
            "multiple": None,
        },
    ]
    r = await client.post(f"/api/conversations/{cid}/messages", json={"text": "Yes", "choice": "yes"})
    assert [m["text"] for m in r.json()["messages"]] == ["Your email?"]
    r = await client.post(f"/api/conversations/{cid}/messages", json={"text": "ann@example.com"})
    assert r.json()["messages"] == []  # the flow now waits a second before it answers
    state = (await client.get(f"/api/conversations/{cid}")).json()
    assert (state["status"], state["waiting_at"], state["variables"]["email"]) == (
        "sleeping",
        "wait",
        "ann@example.com",
    )
    for _ in range(200):
        lines = (await client.get(f"/api/conversations/{cid}/messages")).json()["messages"]
        if lines[-1]["text"] == "Welcome, ann@example.com.":
            break
        await asyncio.sleep(0.02)
    assert [(m["direction"], m["text"]) for m in lines] == [
        ("out", "Hello ann!"),
        ("out", "Join the list?"),
        ("in", "Yes"),
        ("out", "Your email?"),
        ("in", "ann@example.com"),
        ("out", "Welcome, ann@example.com."),
    ]
    assert lines[2]["choice"] == "yes" and lines[0]["node_id"] == "hi"
    newer = (await client.get(f"/api/conversations/{cid}/messages", params={"after": lines[3]["id"]})).json()
    assert [m["text"] for m in newer["messages"]] == ["ann@example.com", "Welcome, ann@example.com."]


async def test_the_same_event_id_is_answered_once(client: httpx.AsyncClient) -> None:
    cid, _ = await start(client)
    body = {"text": "no", "event_id": "client-1"}
    first = await client.post(f"/api/conversations/{cid}/messages", json=body)
    again = await client.post(f"/api/conversations/{cid}/messages", json=body)
    assert first.json() == again.json()
    assert [m["text"] for m in first.json()["messages"]] == ["Maybe later."]
    lines = (await client.get(f"/api/conversations/{cid}/messages")).json()["messages"]
    assert [m["direction"] for m in lines].count("in") == 1


async def test_unknown_things_are_404_with_a_sentence(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/flows/nope/conversations", json={})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = await client.post("/api/flows/signup/conversations", json={"version": 9})
    assert r.status_code == 404 and "version 9" in r.json()["detail"]
    for path in ("/api/conversations/ghost", "/api/conversations/ghost/messages"):
        r = await client.get(path)
        assert r.status_code == 404 and r.json() == {"detail": "There is no conversation 'ghost'."}
    r = await client.post("/api/conversations/ghost/messages", json={"text": "hi"})
    assert r.status_code == 404


async def test_bad_bodies_get_clear_errors_and_change_nothing(client: httpx.AsyncClient) -> None:
    cid, _ = await start(client)
    url = f"/api/conversations/{cid}/messages"
    r = await client.post(url, content=b'{"text": ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json() == {"detail": "The request body is not valid JSON."}
    r = await client.post(url, json={"text": 5})
    assert r.status_code == 422 and r.json()["detail"] == "“text” must be text."
    r = await client.post(url, json={"text": "x" * 5000})
    assert r.status_code == 422 and "too long" in r.json()["detail"]
    r = await client.post(url, json={"media": {"kind": "hologram", "url": "x"}})
    assert r.status_code == 422 and "media.kind" in r.json()["detail"]
    r = await client.post(url, content=b"x" * (MAX_BODY + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than 64 KB" in r.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the size is counted as it arrives
        for _ in range(80):
            yield b" " * 1024

    r = await client.post(url, content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    lines = (await client.get(url)).json()["messages"]
    assert [m["direction"] for m in lines] == ["out", "out"]
    state = (await client.get(f"/api/conversations/{cid}")).json()
    assert state["status"] == "waiting" and state["waiting_at"] == "q"


def test_the_openapi_schema_documents_every_route(engine: Engine, builtins: Registry) -> None:
    schema = create_app(Runtime(engine, builtins)).openapi()
    assert set(schema["paths"]) == {
        "/health",
        "/api/flows",
        "/api/flows/{flow_id}/conversations",
        "/api/conversations/{conversation_id}/messages",
        "/api/conversations/{conversation_id}",
    }
    assert {"StartIn", "MessageIn", "Started", "Replies", "Transcript"} <= set(schema["components"]["schemas"])

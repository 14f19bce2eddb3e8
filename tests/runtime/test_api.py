"""The runtime's HTTP API, through a real ASGI app with its lifespan (timers run)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import Engine

from flows.document import flow_from_data
from nodes.api import Button, Outbound
from nodes.registry import Registry
from runtime.api import MAX_BODY, OOPS, create_app
from runtime.engine import Runtime
from tests.access import api_headers

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
JSON = {"content-type": "application/json"}


@pytest.fixture
def runtime(engine: Engine, builtins: Registry) -> Runtime:
    rt = Runtime(engine, builtins, wait_scale=0.001)
    rt.flows.save_draft(flow_from_data(FLOW))
    rt.flows.publish("signup", builtins)
    rt.flows.save_draft(flow_from_data({**FLOW, "id": "unpublished", "name": "Draft only"}))
    return rt


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    assert app.state.runtime is runtime
    async with app.router.lifespan_context(app):  # starts the runtime's timers
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://chatloom.test", headers=api_headers(app)
        ) as c:
            yield c


async def start(client: httpx.AsyncClient, user_id: str = "ann") -> tuple[str, list[dict]]:
    r = await client.post("/api/flows/signup/conversations", json={"user_id": user_id})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["flow_id"], body["version"]) == ("signup", 1)
    return body["conversation_id"], body["messages"]


async def say(client: httpx.AsyncClient, cid: str, **body: object) -> list[dict]:
    r = await client.post(f"/api/conversations/{cid}/messages", json=body)
    assert r.status_code == 200, r.text
    return r.json()["messages"]


async def transcript(client: httpx.AsyncClient, cid: str, **params: int) -> list[dict]:
    r = await client.get(f"/api/conversations/{cid}/messages", params=params)
    assert r.status_code == 200, r.text
    return r.json()["messages"]


async def test_a_whole_conversation_over_http(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/api/flows")).json() == [{"id": "signup", "name": "Sign-up", "latest_version": 1}]
    cid, first = await start(client)
    yes_no = (Button("Yes", "yes"), Button("No", "no"))
    assert first == [Outbound("Hello ann!").to_json(), Outbound("Join the list?", yes_no).to_json()]
    assert first[0] == {"text": "Hello ann!"}  # empty keys are left out, as Outbound.to_json() does
    assert await say(client, cid, text="Yes", choice="yes") == [{"text": "Your email?"}]
    assert await say(client, cid, text="ann@example.com") == []  # the flow waits before it answers
    state = (await client.get(f"/api/conversations/{cid}")).json()
    assert state == {
        "conversation_id": cid,
        "flow_id": "signup",
        "version": 1,
        "status": "sleeping",
        "waiting_at": "wait",
        "variables": {"user": {"id": "ann"}, "joined": True, "email": "ann@example.com"},
    }
    for _ in range(500):  # the timer's message arrives later, in the transcript
        lines = await transcript(client, cid)
        if lines[-1]["text"] == "Welcome, ann@example.com.":
            break
        await asyncio.sleep(0.01)
    assert [(m["direction"], m["node_id"], m["text"]) for m in lines] == [
        ("out", "hi", "Hello ann!"),
        ("out", "q", "Join the list?"),
        ("in", "q", "Yes"),
        ("out", "mail", "Your email?"),
        ("in", "mail", "ann@example.com"),
        ("out", "thanks", "Welcome, ann@example.com."),
    ]
    assert lines[2]["choice"] == "yes" and "choice" not in lines[4]
    assert lines[1]["buttons"] == [{"title": "Yes", "value": "yes"}, {"title": "No", "value": "no"}]
    assert all(isinstance(m["id"], int) and m["at"].endswith("+00:00") for m in lines)
    assert [m["id"] for m in lines] == sorted({m["id"] for m in lines})
    newer = await transcript(client, cid, after=lines[3]["id"])
    assert [m["text"] for m in newer] == ["ann@example.com", "Welcome, ann@example.com."]
    assert [m["text"] for m in await transcript(client, cid, after=lines[0]["id"], limit=2)] == [
        "Join the list?",
        "Yes",
    ]
    assert (await client.get(f"/api/conversations/{cid}")).json()["status"] == "ended"


async def test_start_takes_variables_and_a_version(client: httpx.AsyncClient, runtime: Runtime) -> None:
    runtime.flows.save_draft(flow_from_data({**FLOW, "name": "Sign-up 2"}))
    assert runtime.flows.publish("signup", runtime.registry) == 2
    r = await client.post("/api/flows/signup/conversations", json={"version": 1, "variables": {"source": "ad"}})
    assert r.status_code == 201 and r.json()["version"] == 1
    state = (await client.get(f"/api/conversations/{r.json()['conversation_id']}")).json()
    assert (state["version"], state["variables"]["source"]) == (1, "ad")
    r = await client.post("/api/flows/signup/conversations")  # no body at all: the latest version
    assert r.status_code == 201 and r.json()["version"] == 2
    assert (await client.get("/api/flows")).json() == [{"id": "signup", "name": "Sign-up 2", "latest_version": 2}]


async def test_media_goes_into_the_transcript(client: httpx.AsyncClient) -> None:
    cid, _ = await start(client)
    media = {"kind": "image", "url": "https://example.com/a.png", "name": "a.png", "mime": "image/png"}
    await say(client, cid, text="", media=media)
    inbound = [m for m in await transcript(client, cid) if m["direction"] == "in"]
    assert inbound == [{**inbound[0], "text": "", "media": media}]


async def test_the_same_event_id_is_answered_once(client: httpx.AsyncClient) -> None:
    cid, _ = await start(client)
    first = await say(client, cid, text="no", event_id="client-1")
    assert first == [{"text": "Maybe later."}]
    assert await say(client, cid, text="no", event_id="client-1") == first
    lines = await transcript(client, cid)
    assert [(m["direction"], m["text"]) for m in lines].count(("in", "no")) == 1
    assert [m["direction"] for m in lines] == ["out", "out", "in", "out"]


async def test_event_ids_are_only_unique_within_a_conversation(client: httpx.AsyncClient) -> None:
    ann, _ = await start(client, "ann")
    bob, _ = await start(client, "bob")
    assert await say(client, ann, text="no", event_id="1") == [{"text": "Maybe later."}]
    assert await say(client, bob, text="yes", event_id="1") == [{"text": "Your email?"}]
    assert (await client.get(f"/api/conversations/{bob}")).json()["waiting_at"] == "mail"


async def test_unknown_things_are_404_with_a_sentence(client: httpx.AsyncClient) -> None:
    for flow in ("nope", "unpublished"):
        r = await client.post(f"/api/flows/{flow}/conversations", json={})
        assert r.status_code == 404 and r.json() == {"detail": f"There is no published version of flow '{flow}'."}
    r = await client.post("/api/flows/signup/conversations", json={"version": 9})
    assert r.status_code == 404 and r.json() == {"detail": "There is no version 9 of flow 'signup'."}
    for path in ("/api/conversations/ghost", "/api/conversations/ghost/messages"):
        r = await client.get(path)
        assert r.status_code == 404 and r.json() == {"detail": "There is no conversation 'ghost'."}
    r = await client.post("/api/conversations/ghost/messages", json={"text": "hi"})
    assert r.status_code == 404 and r.json() == {"detail": "There is no conversation 'ghost'."}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"text": 5}, "“text” must be text."),
        ({"text": "x" * 4097}, "“text” is too long (at most 4096 characters)."),
        ({"choice": ["yes"]}, "“choice” must be text."),
        ({"event_id": ""}, "“event_id” must not be empty."),
        ({"media": {"kind": "hologram", "url": "x"}}, "“media.kind” must be 'image', 'audio', 'video' or 'file'."),
        ({"media": {"kind": "image"}}, "“media.url” is missing."),
        ({"txt": "hi"}, "“txt” is not a field this request knows."),
        ([1, 2], "The request body must be a JSON object."),
    ],
)
async def test_wrong_fields_are_422_with_a_sentence(client: httpx.AsyncClient, body: object, detail: str) -> None:
    cid, _ = await start(client)
    r = await client.post(f"/api/conversations/{cid}/messages", json=body)
    assert (r.status_code, r.json()) == (422, {"detail": detail})
    assert [m["direction"] for m in await transcript(client, cid)] == ["out", "out"]


async def test_bad_bodies_and_queries_get_clear_errors_and_change_nothing(client: httpx.AsyncClient) -> None:
    cid, _ = await start(client)
    url = f"/api/conversations/{cid}/messages"
    r = await client.post(url, content=b'{"text": ', headers=JSON)
    assert (r.status_code, r.json()) == (400, {"detail": "The request body is not valid JSON."})
    r = await client.post("/api/flows/signup/conversations", content=b"{'user_id': 1}", headers=JSON)
    assert (r.status_code, r.json()) == (400, {"detail": "The request body is not valid JSON."})
    r = await client.post(url, content=b"hello", headers={"content-type": "text/plain"})
    assert r.status_code == 422 and "content-type: application/json" in r.json()["detail"]
    r = await client.post(url)
    assert (r.status_code, r.json()) == (422, {"detail": "The request body is missing."})
    r = await client.post("/api/flows/signup/conversations", json={"version": 0})
    assert (r.status_code, r.json()) == (422, {"detail": "“version” must be at least 1."})
    r = await client.get(url, params={"limit": 0})
    assert (r.status_code, r.json()) == (422, {"detail": "“limit” must be at least 1."})
    r = await client.get(url, params={"after": "last"})
    assert (r.status_code, r.json()) == (422, {"detail": "“after” must be a whole number."})

    too_big = {"detail": "The request body is larger than 64 KB."}
    r = await client.post(url, content=b"x" * (MAX_BODY + 1), headers=JSON)
    assert (r.status_code, r.json()) == (413, too_big)
    r = await client.post(url, json={"text": "x" * MAX_BODY})  # a valid field, over the limit as a whole
    assert (r.status_code, r.json()) == (413, too_big)
    r = await client.post(url, json={"text": "y" * 4096, "event_id": "z" * 100})  # just within every limit
    assert r.status_code == 200

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the size is counted as it arrives
        for _ in range(80):
            yield b" " * 1024

    r = await client.post(url, content=chunks(), headers=JSON)
    assert (r.status_code, r.json()) == (413, too_big)
    lines = await transcript(client, cid)
    assert [m["direction"] for m in lines] == ["out", "out", "in", "out", "out"]  # only the valid message
    assert lines[2]["text"] == "y" * 4096


async def test_an_unexpected_error_is_a_bare_500_logged_with_the_conversation(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cid, _ = await start(client)

    async def broken(*_: object) -> None:
        raise RuntimeError("database on fire at /secret/path")

    monkeypatch.setattr(runtime, "send", broken)
    with caplog.at_level(logging.ERROR, logger="runtime.api"):
        r = await client.post(f"/api/conversations/{cid}/messages", json={"text": "hi"})
    assert (r.status_code, r.json()) == (500, {"detail": OOPS})
    assert "fire" not in r.text
    [record] = caplog.records
    assert cid in record.getMessage() and record.exc_info is not None
    assert (await client.get("/health")).status_code == 200  # and the app goes on


def test_the_openapi_schema_documents_every_route(runtime: Runtime) -> None:
    schema = create_app(runtime).openapi()
    assert {path: set(ops) for path, ops in schema["paths"].items()} == {
        "/health": {"get"},
        "/ready": {"get"},
        "/api/flows": {"get"},
        "/api/flows/{flow_id}/conversations": {"post"},
        "/api/conversations/{conversation_id}/messages": {"get", "post"},
        "/api/conversations/{conversation_id}": {"get"},
        "/api/bots/{flow_id}/knowledge": {"get", "post"},
        "/api/bots/{flow_id}/knowledge/{name}": {"delete"},
        "/api/feedback/{call_id}": {"post"},
        "/api/me": {"get"},
        "/api/conversations": {"get"},
        "/api/audit": {"get"},
        "/api/privacy/export": {"post"},
        "/api/privacy/erase": {"post"},
    }
    assert schema["security"] == [{"token": []}]  # a bearer token, described for clients
    schemas = schema["components"]["schemas"]
    assert {"StartIn", "MessageIn", "MediaIn", "Started", "Replies", "Transcript", "ConversationOut"} <= set(schemas)
    assert {"text", "choice", "event_id", "media"} == set(schemas["MessageIn"]["properties"])
    assert {"text", "buttons", "media", "multiple", "feedback"} <= set(schemas["MessageOut"]["properties"])
    send = schema["paths"]["/api/conversations/{conversation_id}/messages"]["post"]
    assert send["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert {"200", "400", "404", "413", "422"} <= set(send["responses"])
    assert "HTTPValidationError" not in schemas  # FastAPI's default 422 shape is never sent

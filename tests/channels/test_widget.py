"""The web chat widget's WebSocket: history, buttons, answers once after a resend, refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from builder.context import TEMPLATES
from flows.document import parse_flow
from nodes.registry import Registry
from runtime.api import create_app
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.channels.widget import FRAMES_PER_10S
from runtime.engine import Runtime

VISITOR = "a1b2c3d4e5f6a7b8"


@pytest.fixture
def client(engine: Engine, builtins: Registry) -> Iterator[TestClient]:
    runtime = Runtime(engine, builtins)
    runtime.flows.save_draft(parse_flow((TEMPLATES / "faq_menu.json").read_bytes()))
    runtime.flows.publish("faq-menu", builtins)
    store = ChannelStore(engine, SecretBox(Fernet.generate_key()))
    store.deploy("web", "site", "faq-menu", 1, {})
    with TestClient(create_app(runtime, Channels(runtime, store))) as c:
        yield c


def _lines(ws: Any, until: str) -> list[dict[str, Any]]:
    got = []
    while True:
        data = ws.receive_json()
        if data["type"] == "line":
            got.append(data)
            if until in json.dumps(data):
                return got


def test_open_choose_and_find_the_history_again(client: TestClient) -> None:
    assert "Chatloom web chat" in client.get("/widget/site.js").text
    assert "/widget/site.js" in client.get("/widget/site/preview").text
    with client.websocket_connect(f"/widget/site/ws?visitor={VISITOR}") as ws:
        ws.send_json({"type": "hello", "after": 0})
        first = _lines(ws, "What would you like to know?")
        assert first[0]["text"].startswith("Hello! Pick a topic")
        assert {"Prices", "Returns"} <= {b["title"] for b in first[-1]["buttons"]}
        ws.send_json({"type": "say", "id": "1", "text": "Prices", "choice": "prices"})
        assert ws.receive_json() == {"type": "ack", "id": "1"}
        after = _lines(ws, "What would you like to know?")  # the answer, then the menu again
        assert after[0]["direction"] == "in" and after[0]["choice"] == "prices"
        assert any("Plans start at $9 a month" in json.dumps(line) for line in after)
        last = after[-1]["id"]
        ws.send_json({"type": "say", "id": "1", "text": "Prices", "choice": "prices"})  # resent after a drop
        assert ws.receive_json() == {"type": "ack", "id": "1"}
    with client.websocket_connect(f"/widget/site/ws?visitor={VISITOR}") as ws:  # a reload: the whole history
        ws.send_json({"type": "hello", "after": 0})
        history = _lines(ws, "Plans start at $9 a month")
        history += _lines(ws, "What would you like to know?")
        assert sum("Plans start at $9 a month" in json.dumps(h) for h in history) == 1
        assert history[-1]["id"] == last
    with client.websocket_connect(f"/widget/site/ws?visitor={VISITOR}") as ws:  # a reconnection: only what is new
        ws.send_json({"type": "hello", "after": last})
        ws.send_json({"type": "say", "id": "2", "text": "hello?"})
        assert ws.receive_json() == {"type": "ack", "id": "2"}
        assert ws.receive_json()["id"] > last


def test_bad_frames_get_an_answer_not_a_crash(client: TestClient) -> None:
    with client.websocket_connect(f"/widget/site/ws?visitor={VISITOR}") as ws:
        ws.send_text("not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_text(json.dumps({"type": "say", "text": "x" * 9000}))
        assert ws.receive_json() == {"type": "error", "detail": "That message is too long."}
        ws.send_json({"type": "hello", "after": "soon"})
        assert _lines(ws, "What would you like to know?")


def test_a_visitor_sending_too_fast_is_slowed_down(client: TestClient) -> None:
    with client.websocket_connect(f"/widget/site/ws?visitor={VISITOR}") as ws:
        for n in range(FRAMES_PER_10S):
            ws.send_text(json.dumps({"type": "rate", "feedback": f"x{n}", "score": 1}))  # no answer to a rating
        ws.send_json({"type": "say", "id": "1", "text": "Prices"})
        assert ws.receive_json() == {"type": "error", "detail": "You are sending messages too fast; wait a moment."}


@pytest.mark.parametrize(
    "path", ["/widget/nowhere/ws?visitor=" + VISITOR, "/widget/site/ws?visitor=short", "/widget/site/ws"]
)
def test_unknown_chats_and_bad_visitors_are_closed(client: TestClient, path: str) -> None:
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(path) as ws:
        ws.receive_json()
    assert closed.value.code == 4404
    assert client.get("/widget/nowhere.js").status_code == 404


def test_a_visitor_rates_an_ai_answer(engine: Engine, builtins: Registry, tmp_path: Any) -> None:
    from runtime.ai.setup import attach_ai
    from tests.fakes.openai import FakeOpenAI
    from tests.fakes.server import running

    flow = {
        "schema_version": 1,
        "id": "helper",
        "name": "Helper",
        "start": "start",
        "nodes": [
            {"id": "start", "type": "flow.start"},
            {"id": "ask", "type": "input.text", "settings": {"prompt": "Ask me", "save_as": "q"}},
            {"id": "llm", "type": "ai.llm", "settings": {"history": 0}},
        ],
        "edges": [
            {"id": "a", "source": "start", "source_port": "out", "target": "ask"},
            {"id": "b", "source": "ask", "source_port": "valid", "target": "llm"},
            {"id": "c", "source": "llm", "source_port": "out", "target": "ask"},
        ],
    }
    with running(FakeOpenAI(("answer", "Opening hours are 9 to 5."))) as fake:
        runtime = Runtime(engine, builtins)
        ai = attach_ai(runtime, tmp_path)
        ai.store.save({"name": "m", "provider": "openai_compatible", "model": "x", "api_base": fake.api_base})
        ai.store.set_default("m")
        runtime.flows.save_draft(parse_flow(json.dumps(flow)))
        runtime.flows.publish("helper", builtins)
        store = ChannelStore(engine, SecretBox(Fernet.generate_key()))
        store.deploy("web", "site", "helper", 1, {})
        with TestClient(create_app(runtime, Channels(runtime, store))) as client:
            with client.websocket_connect(f"/widget/site/ws?visitor={VISITOR}") as ws:
                ws.send_json({"type": "hello", "after": 0})
                _lines(ws, "Ask me")
                ws.send_json({"type": "say", "id": "1", "text": "When are you open?"})
                answer = next(line for line in _lines(ws, "9 to 5") if line.get("feedback"))
                ws.send_json({"type": "rate", "feedback": "not-a-call", "score": 1})  # ignored
                ws.send_json({"type": "rate", "feedback": answer["feedback"], "score": -1})
                ws.send_json({"type": "say", "id": "2", "text": "thanks"})  # frames are handled in order
                while ws.receive_json() != {"type": "ack", "id": "2"}:
                    pass
            with client.websocket_connect("/widget/site/ws?visitor=ffffffffffffffff") as other:
                other.send_json({"type": "hello", "after": 0})
                _lines(other, "Ask me")
                other.send_json({"type": "rate", "feedback": answer["feedback"], "score": 1})  # not their answer
                other.send_json({"type": "say", "id": "1", "text": "hi"})
                assert other.receive_json()["type"] in ("ack", "line")
    [figures] = ai.calls.figures()
    assert (figures.thumbs_up, figures.thumbs_down) == (0, 1)

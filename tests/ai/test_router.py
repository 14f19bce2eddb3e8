"""The AI router: messages reach the exit whose example phrases they mean, offline (the built-in
embedding model), with a fallback below the threshold; or a language model picks the exit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from flows.document import parse_flow
from nodes.api import Inbound, Services
from nodes.registry import Registry
from runtime.ai.calls import CallLog
from runtime.ai.gateway import Models
from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.models import ModelStore
from runtime.channels.secretbox import SecretBox
from runtime.engine import Runtime
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import running

ROUTES = [
    {
        "port": "billing",
        "description": "payments, invoices, refunds",
        "examples": ["I was charged twice", "I want a refund", "Where is my invoice?"],
    },
    {
        "port": "shipping",
        "description": "deliveries and parcels",
        "examples": ["Where is my parcel?", "My package has not arrived", "When will my order be delivered?"],
    },
    {
        "port": "account",
        "description": "logging in, passwords",
        "examples": ["I forgot my password", "I cannot log in", "How do I change my email address?"],
    },
]
SAID = {
    "billing": ["You took the money two times from my card", "Can I get my money back?", "please send the bill"],
    "shipping": ["My delivery is late", "the box never came", "track my shipment"],
    "account": ["reset my password please", "login does not work", "I am locked out of my account"],
}


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


def _doc(router: dict[str, Any]) -> str:
    ports = [r["port"] for r in router["routes"]] + ["fallback", "error"]
    nodes: list[dict[str, Any]] = [
        {"id": "start", "type": "flow.start"},
        {"id": "ask", "type": "input.text", "settings": {"prompt": "How can I help?", "save_as": "q"}},
        {"id": "route", "type": "ai.router", "settings": router},
    ]
    edges = [("start", "out", "ask"), ("ask", "valid", "route")]
    for port in ports:
        nodes.append({"id": f"say_{port}", "type": "message.send", "settings": {"text": port}})
        edges += [("route", port, f"say_{port}"), (f"say_{port}", "out", "ask")]
    return json.dumps(
        {
            "schema_version": 1,
            "id": "router",
            "name": "Router",
            "start": "start",
            "nodes": nodes,
            "edges": [{"id": f"e{n}", "source": s, "source_port": p, "target": t} for n, (s, p, t) in enumerate(edges)],
        }
    )


async def _chat(
    engine: Engine, builtins: Registry, router: dict[str, Any], services: Services, *said: str
) -> list[str]:
    runtime = Runtime(engine, builtins, services=services)
    runtime.flows.save_draft(parse_flow(_doc(router)))
    runtime.flows.publish("router", builtins)
    cid, _ = await runtime.start("router")
    return [(await runtime.send(cid, Inbound(text=text)))[0].text for text in said]


async def test_messages_reach_the_exit_they_mean(engine: Engine, builtins: Registry, embedder: LocalEmbedder) -> None:
    messages = [m for ms in SAID.values() for m in ms]
    routed = await _chat(engine, builtins, {"routes": ROUTES, "threshold": 0.4}, Services(embedder=embedder), *messages)
    expected = [port for port, ms in SAID.items() for _ in ms]
    assert routed == expected


async def test_unrelated_messages_fall_back(engine: Engine, builtins: Registry, embedder: LocalEmbedder) -> None:
    routed = await _chat(
        engine,
        builtins,
        {"routes": ROUTES, "threshold": 0.5},
        Services(embedder=embedder),
        "What a lovely sunny day for a picnic",
        "Who won the football match yesterday?",
    )
    assert routed == ["fallback", "fallback"]


async def test_a_language_model_can_choose(engine: Engine, builtins: Registry, tmp_path: Path) -> None:
    store = ModelStore(engine, SecretBox.for_data_folder(tmp_path))
    with running(FakeOpenAI(("answer", "Shipping."), ("answer", "I am not sure"))) as fake:
        store.save({"name": "m", "provider": "openai_compatible", "model": "x", "api_base": fake.api_base})
        services = Services(models=Models(store, CallLog(engine)))
        router = {"routes": ROUTES, "method": "model", "model": "m"}
        routed = await _chat(engine, builtins, router, services, "the box never came", "hmm")
    assert routed == ["shipping", "fallback"]
    prompt = fake.seen[0][0]["messages"][0]["content"]
    assert "- billing: payments, invoices, refunds" in prompt and fake.seen[0][0]["temperature"] == 0


def test_exit_names_are_checked(builtins: Registry) -> None:
    node = builtins.get("ai.router")
    assert node is not None
    routes = [
        {"port": "fallback", "examples": ["x"]},
        {"port": "a", "examples": ["y"]},
        {"port": "a", "examples": [" "]},
    ]
    errors = node.inspect({"routes": routes}, 1).errors
    assert errors == [
        "“fallback” is reserved; choose another exit name.",
        "Two exits are called “a”.",
        "Exit “a” needs at least one example phrase.",
    ]
    assert node.inspect({"routes": ROUTES}, 1).outputs == ["billing", "shipping", "account", "fallback", "error"]

"""The memory steps in real flows, run turn by turn through the runtime with the real embedder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from flows.document import parse_flow
from nodes.ai import forget, knowledge, recall, remember
from nodes.api import Inbound, Services
from nodes.registry import Registry
from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.memory import ChromaMemory
from runtime.engine import Runtime

MEMORY_NODES = [remember.NODE, recall.NODE, knowledge.NODE, forget.NODE]


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture
def registry(builtins: Registry) -> Registry:
    return Registry.of([*(n for n in builtins if not n.type.startswith("memory.")), *MEMORY_NODES])


@pytest.fixture
def memory(tmp_path: Path, engine: Engine, embedder: LocalEmbedder) -> ChromaMemory:
    return ChromaMemory.for_data_folder(tmp_path, engine, embedder)


@pytest.fixture
def runtime(engine: Engine, registry: Registry, memory: ChromaMemory, embedder: LocalEmbedder) -> Runtime:
    return Runtime(engine, registry, services=Services(memory=memory, embedder=embedder))


def flow(flow_id: str, nodes: list[dict[str, Any]], edges: list[tuple[str, str, str]]) -> str:
    return json.dumps(
        {
            "schema_version": 1,
            "id": flow_id,
            "name": flow_id.title(),
            "start": "start",
            "nodes": [{"id": "start", "type": "flow.start"}, *nodes],
            "edges": [{"id": f"e{n}", "source": s, "source_port": p, "target": t} for n, (s, p, t) in enumerate(edges)],
        }
    )


def ask(node_id: str, prompt: str, save_as: str) -> dict[str, Any]:
    return {"id": node_id, "type": "input.text", "settings": {"prompt": prompt, "save_as": save_as}}


def say(node_id: str, text: str) -> dict[str, Any]:
    return {"id": node_id, "type": "message.send", "settings": {"text": text}}


def publish(runtime: Runtime, doc: str) -> str:
    flow_doc = parse_flow(doc)
    runtime.flows.save_draft(flow_doc)
    runtime.flows.publish(flow_doc.id, runtime.registry)
    return flow_doc.id


async def talk(runtime: Runtime, flow_id: str, user_id: str, *said: str) -> list[str]:
    """A conversation with the flow: every reply the bot gave, in order."""
    cid, first = await runtime.start(flow_id, user_id=user_id)
    replies = [m.text for m in first]
    for text in said:
        replies += [m.text for m in await runtime.send(cid, Inbound(text=text))]
    return replies


NOTEBOOK = flow(
    "notebook",
    [
        ask("tell", "Tell me something about you.", "fact"),
        {"id": "keep", "type": "memory.remember", "settings": {}},  # the last message
        ask("question", "What should I look up?", "question"),
        {"id": "look", "type": "memory.recall", "settings": {"query": "{{ question }}", "top_k": 1}},
        say("found", "You told me: {{ memories }}"),
        say("none", "I don't know that about you."),
    ],
    [
        ("start", "out", "tell"),
        ("tell", "valid", "keep"),
        ("keep", "out", "question"),
        ("question", "valid", "look"),
        ("look", "found", "found"),
        ("look", "none", "none"),
    ],
)


async def test_a_fact_told_in_one_conversation_is_recalled_in_the_next(runtime: Runtime) -> None:
    bot = publish(runtime, NOTEBOOK)
    await talk(runtime, bot, "42", "My cat is called Miso.", "nothing")
    replies = await talk(runtime, bot, "42", "I cycle to work.", "What is the name of my pet?")
    assert replies[-1] == "You told me: 1. My cat is called Miso."


async def test_another_user_is_never_told_what_someone_else_said(runtime: Runtime) -> None:
    bot = publish(runtime, NOTEBOOK)
    await talk(runtime, bot, "alice", "My bank PIN is 4321.", "nothing")
    replies = await talk(runtime, bot, "bob", "Hi.", "What is my bank PIN?")
    assert replies[-1] == "I don't know that about you."  # alice's PIN is not bob's to hear
    assert "4321" not in " ".join(replies)


async def test_the_knowledge_step_finds_passages_with_their_sources(runtime: Runtime, memory: ChromaMemory) -> None:
    bot = publish(
        runtime,
        flow(
            "help",
            [
                ask("q", "Ask me anything.", "question"),
                {"id": "kb", "type": "memory.knowledge", "settings": {"top_k": 1}},
                say("answer", "{{ passages }} (from {{ sources }})"),
                say("sorry", "I found nothing on that."),
            ],
            [("start", "out", "q"), ("q", "valid", "kb"), ("kb", "found", "answer"), ("kb", "none", "sorry")],
        ),
    )
    await memory.add_document(bot, "shipping.txt", b"We ship to Belgium, the Netherlands and France in two days.")
    replies = await talk(runtime, bot, "7", "Can you deliver my order to France?")
    assert replies[-1] == (
        "[shipping.txt] We ship to Belgium, the Netherlands and France in two days. (from shipping.txt)"
    )
    assert (await talk(runtime, bot, "7", "What is the meaning of life?"))[-1] == "I found nothing on that."


async def test_the_profile_is_kept_and_the_user_can_have_it_forgotten(runtime: Runtime, memory: ChromaMemory) -> None:
    bot = publish(
        runtime,
        flow(
            "profile",
            [
                ask("name", "What is your name?", "name"),
                {"id": "keep", "type": "memory.remember", "settings": {"text": "{{ name }}", "profile_key": "name"}},
                {"id": "note", "type": "memory.remember", "settings": {"text": "{{ name }} likes tea."}},
                ask("sure", "Shall I forget you?", "answer"),
                {"id": "forget", "type": "memory.forget", "settings": {}},
                say("done", "Done: I have forgotten you."),
            ],
            [
                ("start", "out", "name"),
                ("name", "valid", "keep"),
                ("keep", "out", "note"),
                ("note", "out", "sure"),
                ("sure", "valid", "forget"),
                ("forget", "out", "done"),
            ],
        ),
    )
    cid, _ = await runtime.start(bot, user_id="99")
    await runtime.send(cid, Inbound(text="Ada"))
    state = runtime.store.load(cid)
    assert state is not None
    user = f"{state.channel}:{state.account}:99"
    assert await memory.profile(bot, user) == {"name": "Ada"}
    assert [m.text for m in await memory.recall(bot, user, "What does Ada drink?")] == ["Ada likes tea."]
    replies = await runtime.send(cid, Inbound(text="yes"))
    assert [m.text for m in replies] == ["Done: I have forgotten you."]
    assert await memory.profile(bot, user) == {}
    assert await memory.recall(bot, user, "What does Ada drink?", min_similarity=0) == []


async def test_forgetting_one_profile_entry_keeps_the_rest(runtime: Runtime, memory: ChromaMemory) -> None:
    bot = publish(
        runtime,
        flow(
            "colours",
            [
                ask("colour", "Favourite colour?", "colour"),
                {
                    "id": "keep",
                    "type": "memory.remember",
                    "settings": {"text": "{{ colour }}", "profile_key": "colour"},
                },
                {"id": "lang", "type": "memory.remember", "settings": {"text": "en", "profile_key": "language"}},
                ask("sure", "Forget your colour?", "answer"),
                {"id": "forget", "type": "memory.forget", "settings": {"key": "colour"}},
                say("done", "Forgotten."),
            ],
            [
                ("start", "out", "colour"),
                ("colour", "valid", "keep"),
                ("keep", "out", "lang"),
                ("lang", "out", "sure"),
                ("sure", "valid", "forget"),
                ("forget", "out", "done"),
            ],
        ),
    )
    cid, _ = await runtime.start(bot, user_id="5")
    await runtime.send(cid, Inbound(text="green"))
    state = runtime.store.load(cid)
    assert state is not None
    user = f"{state.channel}:{state.account}:5"
    assert await memory.profile(bot, user) == {"colour": "green", "language": "en"}
    await runtime.send(cid, Inbound(text="yes"))
    assert await memory.profile(bot, user) == {"language": "en"}


async def test_without_a_memory_service_the_step_says_so(
    engine: Engine, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = Runtime(engine, registry)
    bot = publish(runtime, NOTEBOOK)
    cid, _ = await runtime.start(bot, user_id="1")
    replies = await runtime.send(cid, Inbound(text="I like tea."))
    assert replies and "Long-term memory" not in replies[0].text  # the user gets the polite reply
    assert "Node 'keep' (memory.remember) of flow 'notebook' failed: Long-term memory is not set up" in caplog.text


def test_settings_are_checked(registry: Registry) -> None:
    node_type = registry.get("memory.recall")
    assert node_type is not None
    with pytest.raises(ValueError, match="At most this many facts"):
        node_type.parse({"top_k": 0}, 1)
    with pytest.raises(ValueError):
        node_type.parse({"save_as": "not a name"}, 1)
    remember_type = registry.get("memory.remember")
    assert remember_type is not None
    with pytest.raises(ValueError):
        remember_type.parse({"profile_key": "no/slashes"}, 1)
    assert remember_type.parse({}, 1).scope == "user"  # type: ignore[attr-defined]

"""The Ask AI step in flows: prompts with variables and history, JSON into variables, the error
exit, feedback ids on answers — through litellm's real OpenAI client against a local fake — and
the built-in offline model end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import Engine

from flows.document import parse_flow
from nodes.api import Inbound, Services
from nodes.registry import Registry
from runtime.ai.calls import CallLog
from runtime.ai.gateway import Models
from runtime.ai.models import ModelStore
from runtime.ai.setup import attach_ai
from runtime.api import create_app
from runtime.channels.secretbox import SecretBox
from runtime.engine import Runtime
from tests.access import api_headers
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import running


def _flow(llm: dict[str, Any], after: list[dict[str, Any]] | None = None) -> str:
    nodes = [
        {"id": "start", "type": "flow.start"},
        {"id": "ask", "type": "input.text", "settings": {"prompt": "What can I do for you?", "save_as": "question"}},
        {"id": "llm", "type": "ai.llm", "settings": llm},
        {"id": "oops", "type": "message.send", "settings": {"text": "Sorry: {{ error }}"}},
        *(after or []),
    ]
    edges = [("start", "out", "ask"), ("ask", "valid", "llm"), ("llm", "error", "oops"), ("oops", "out", "ask")]
    edges.append(("llm", "out", after[0]["id"] if after else "ask"))
    if after:
        edges.append((after[-1]["id"], "out", "ask"))
    return json.dumps(
        {
            "schema_version": 1,
            "id": "ai",
            "name": "AI",
            "start": "start",
            "nodes": nodes,
            "edges": [{"id": f"e{n}", "source": s, "source_port": p, "target": t} for n, (s, p, t) in enumerate(edges)],
        }
    )


async def _runtime(engine: Engine, builtins: Registry, doc: str, models: Models) -> Runtime:
    runtime = Runtime(engine, builtins, services=Services(models=models))
    runtime.flows.save_draft(parse_flow(doc))
    runtime.flows.publish("ai", builtins)
    return runtime


def _models(engine: Engine, tmp_path: Path, api_base: str) -> Models:
    store = ModelStore(engine, SecretBox.for_data_folder(tmp_path))
    store.save({"name": "fast", "provider": "openai", "model": "gpt-4o-mini", "api_base": api_base, "api_key": "k"})
    store.save({"name": "spare", "provider": "openai_compatible", "model": "m", "api_base": api_base})
    return Models(store, CallLog(engine))


async def test_the_answer_is_sent_with_history_and_variables(
    engine: Engine, builtins: Registry, tmp_path: Path
) -> None:
    settings = {"model": "fast", "system": "You help {{ name }}.", "history": 4, "user_language": False}
    with running(FakeOpenAI(("answer", "First answer."), ("answer", "Second answer."))) as fake:
        runtime = await _runtime(engine, builtins, _flow(settings), _models(engine, tmp_path, fake.api_base))
        cid, _ = await runtime.start("ai", variables={"name": "Ada"})
        first = await runtime.send(cid, Inbound(text="Where is my parcel?"))
        second = await runtime.send(cid, Inbound(text="And when will it come?"))
    assert [m.text for m in first] == ["First answer.", "What can I do for you?"]
    assert first[0].feedback and second[0].text == "Second answer."
    sent = fake.seen[1][0]["messages"]
    assert sent[0] == {"role": "system", "content": "You help Ada."}
    assert [m["content"] for m in sent[1:]] == [
        "Where is my parcel?",
        "First answer.",
        "What can I do for you?",
        "And when will it come?",
    ]
    state = runtime.store.load(cid)
    assert state is not None and state.vars["answer"] == "Second answer."


async def test_json_answers_fill_variables(engine: Engine, builtins: Registry, tmp_path: Path) -> None:
    settings = {
        "model": "fast",
        "output": "json",
        "history": 0,
        "json_fields": [{"key": "city", "save_as": "city"}, {"key": "days", "save_as": "days"}],
    }
    say = {"id": "say", "type": "message.send", "settings": {"text": "{{ city }} for {{ days }} days"}}
    reply = 'Sure! ```json\n{"city": "Lisbon", "days": 3}\n```'
    with running(FakeOpenAI(("answer", reply), ("answer", "no json here"))) as fake:
        runtime = await _runtime(engine, builtins, _flow(settings, [say]), _models(engine, tmp_path, fake.api_base))
        cid, _ = await runtime.start("ai")
        replies = await runtime.send(cid, Inbound(text="A weekend in Lisbon, 3 days"))
        assert replies[0].text == "Lisbon for 3 days"
        assert fake.seen[0][0]["response_format"] == {"type": "json_object"}
        assert "with the keys city, days" in fake.seen[0][0]["messages"][0]["content"]
        replies = await runtime.send(cid, Inbound(text="again"))
    assert replies[0].text == "Sorry: The model did not answer with a JSON object."


async def test_fallback_model_and_the_error_exit(engine: Engine, builtins: Registry, tmp_path: Path) -> None:
    settings = {"model": "fast", "fallbacks": ["spare"], "history": 0}
    script = [("fail", 503, "busy"), ("answer", "from spare"), ("fail", 500, "down")]
    with running(FakeOpenAI(*script)) as fake:
        runtime = await _runtime(engine, builtins, _flow(settings), _models(engine, tmp_path, fake.api_base))
        cid, _ = await runtime.start("ai")
        assert (await runtime.send(cid, Inbound(text="hi")))[0].text == "from spare"
        replies = await runtime.send(cid, Inbound(text="hi again"))
    assert replies[0].text.startswith("Sorry: No model answered: fast: InternalServerError")
    assert "spare" in replies[0].text


async def test_feedback_on_an_answer_over_http(engine: Engine, builtins: Registry, tmp_path: Path) -> None:
    with running(FakeOpenAI(("answer", "Happy to help."))) as fake:
        runtime = Runtime(engine, builtins)
        ai = attach_ai(runtime, tmp_path)
        ai.store.save(
            {"name": "fast", "provider": "openai", "model": "gpt-4o-mini", "api_base": fake.api_base, "api_key": "k"}
        )
        ai.store.set_default("fast")
        runtime.flows.save_draft(parse_flow(_flow({"history": 0})))
        runtime.flows.publish("ai", builtins)
        app = create_app(runtime)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t", headers=api_headers(app)) as http:
            started = (await http.post("/api/flows/ai/conversations", json={})).json()
            reply = await http.post(
                f"/api/conversations/{started['conversation_id']}/messages", json={"text": "Thanks!"}
            )
            answer = reply.json()["messages"][0]
            assert answer["text"] == "Happy to help." and answer["feedback"]
            assert (await http.post(f"/api/feedback/{answer['feedback']}", json={"score": 1})).status_code == 204
            assert (await http.post(f"/api/feedback/{answer['feedback']}", json={"score": 3})).status_code == 422
            missing = await http.post("/api/feedback/nope", json={"score": -1})
            assert missing.status_code == 404 and missing.json()["detail"] == "There is no AI answer with that id."
    [figures] = ai.calls.figures()
    assert figures.model == "fast" and figures.thumbs_up == 1


def test_settings_are_checked(builtins: Registry) -> None:
    node = builtins.get("ai.llm")
    assert node is not None
    assert node.inspect({"json_fields": [{"key": "a", "save_as": "a"}]}, 1).errors == [
        "Values from a JSON answer need the answer format JSON."
    ]
    with pytest.raises(ValueError):
        node.parse({"temperature": 3}, 1)
    with pytest.raises(ValueError):
        node.parse({"fallbacks": ["bad name!"]}, 1)
    assert node.inspect({}, 1).outputs == ["out", "error"]


async def test_the_built_in_model_answers_offline_in_a_flow(engine: Engine, builtins: Registry, tmp_path: Path) -> None:
    """No key, no network: SmolLM2 through litellm's custom provider and llama.cpp."""
    runtime = Runtime(engine, builtins)
    ai = attach_ai(runtime, tmp_path)
    settings = {
        "system": "You are a helpful assistant. Answer in one short sentence.",
        "history": 0,  # a 135M-parameter model answers best without the bot's earlier question
        "max_tokens": 24,
        "temperature": 0,
    }
    runtime.flows.save_draft(parse_flow(_flow(settings)))
    runtime.flows.publish("ai", builtins)
    cid, _ = await runtime.start("ai")
    replies = await runtime.send(cid, Inbound(text="What is the capital of France?"))
    assert "paris" in replies[0].text.lower(), replies
    [row] = ai.calls.recent()
    assert (row.model, row.provider, row.outcome) == ("local", "local", "ok")
    assert row.tokens_in > 10 and 0 < row.tokens_out <= 24 and row.cost == 0


async def test_profile_language_and_knowledge_reach_the_prompt(
    engine: Engine, builtins: Registry, tmp_path: Path
) -> None:
    """What the bot knows about the user, the language they write in, and passages found in the
    knowledge base (with their source) all go into the model's instructions."""
    from runtime.ai.local_embedder import LocalEmbedder
    from runtime.ai.memory import ChromaMemory

    knowledge = {
        "id": "find",
        "type": "memory.knowledge",
        "settings": {"query": "{{ question }}", "save_as": "found", "sources_as": "sources", "min_similarity": 0},
    }
    settings = {
        "model": "fast",
        "history": 0,
        "include_profile": True,
        "system": "Answer from these notes and name the source in brackets:\n{{ found }}",
    }
    embedder = LocalEmbedder()
    memory = ChromaMemory.for_data_folder(tmp_path, engine, embedder)
    await memory.add_document("ai", "returns.md", b"# Returns\n\nYou can return any item within 30 days for a refund.")
    doc = json.loads(_flow(settings))
    doc["nodes"].append(knowledge)
    for edge in doc["edges"]:
        if edge["source"] == "ask" and edge["target"] == "llm":
            edge["target"] = "find"
    doc["edges"] += [{"id": "k1", "source": "find", "source_port": "found", "target": "llm"}]
    doc["edges"] += [{"id": "k2", "source": "find", "source_port": "none", "target": "llm"}]
    with running(FakeOpenAI(("answer", "Sous 30 jours [returns.md]."))) as fake:
        runtime = Runtime(
            engine, builtins, services=Services(models=_models(engine, tmp_path, fake.api_base), memory=memory)
        )
        runtime.flows.save_draft(parse_flow(json.dumps(doc)))
        runtime.flows.publish("ai", builtins)
        cid, _ = await runtime.start("ai", user_id="42", channel="telegram", account="shop")
        await memory.set_profile("ai", "telegram:shop:42", "name", "Amélie")
        replies = await runtime.send(cid, Inbound(text="Combien de jours ai-je pour retourner un article ?"))
    assert replies[0].text == "Sous 30 jours [returns.md]."
    system = fake.seen[0][0]["messages"][0]["content"]
    assert "[returns.md] Returns. You can return any item within 30 days" in system
    assert "What you know about the user: name: Amélie" in system
    assert "Answer in the user's language (ISO code fr)." in system

"""Language detection offline: short messages in many languages, the detect-language step, and the
automatic `language` variable (kept only in flows that mention it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from flows.document import parse_flow
from nodes.ai.language import detect_language
from nodes.api import Inbound
from nodes.registry import Registry
from runtime.engine import Runtime

SHORT = {
    "en": "Where is my order?",
    "fr": "Où est ma commande ?",
    "es": "¿Dónde está mi pedido?",
    "de": "Wo ist meine Bestellung?",
    "it": "Dov'è il mio ordine?",
    "pt": "Onde está o meu pedido?",
    "nl": "Waar is mijn bestelling?",
    "ru": "Где мой заказ?",
    "zh": "我的订单在哪里？",
    "ja": "私の注文はどこですか？",
    "ar": "أين طلبي؟",
    "tr": "Siparişim nerede?",
    "pl": "Gdzie jest moje zamówienie?",
}


@pytest.mark.parametrize(("code", "text"), SHORT.items())
def test_short_messages_in_many_languages(code: str, text: str) -> None:
    found = detect_language(text)
    assert found is not None and found[0] == code, found


@pytest.mark.parametrize("text", ["ok", "2", "👍", "  ", "?!"])
def test_too_little_to_tell(text: str) -> None:
    assert detect_language(text) is None


def _flow(nodes: list[dict[str, Any]], edges: list[tuple[str, str, str]]) -> str:
    return json.dumps(
        {
            "schema_version": 1,
            "id": "lang",
            "name": "Language",
            "start": "start",
            "nodes": [{"id": "start", "type": "flow.start"}, *nodes],
            "edges": [{"id": f"e{n}", "source": s, "source_port": p, "target": t} for n, (s, p, t) in enumerate(edges)],
        }
    )


def _ask() -> dict[str, Any]:
    return {"id": "ask", "type": "input.text", "settings": {"prompt": "How can I help?", "save_as": "question"}}


def _say(node_id: str, text: str) -> dict[str, Any]:
    return {"id": node_id, "type": "message.send", "settings": {"text": text}}


def _branch(left: str) -> dict[str, Any]:
    rule = {"left": left, "op": "equals", "right": "fr"}
    return {"id": "which", "type": "logic.condition", "settings": {"branches": [{"port": "fr", "rules": [rule]}]}}


async def _talk(engine: Engine, builtins: Registry, doc: str, said: str) -> tuple[list[str], dict[str, Any]]:
    runtime = Runtime(engine, builtins)
    runtime.flows.save_draft(parse_flow(doc))
    runtime.flows.publish("lang", builtins)
    cid, _ = await runtime.start("lang")
    replies = await runtime.send(cid, Inbound(text=said))
    state = runtime.store.load(cid)
    assert state is not None
    return [m.text for m in replies], state.vars


async def test_the_detect_language_step_branches_on_the_answer(engine: Engine, builtins: Registry) -> None:
    detect = {"id": "detect", "type": "ai.detect_language", "settings": {"text": "{{ question }}", "save_as": "lang"}}
    doc = _flow(
        [
            _ask(),
            detect,
            _branch("{{ lang }}"),
            _say("fr", "Bonjour !"),
            _say("other", "Hello!"),
            _say("unsure", "Sorry?"),
        ],
        [
            ("start", "out", "ask"),
            ("ask", "valid", "detect"),
            ("detect", "detected", "which"),
            ("detect", "unknown", "unsure"),
            ("which", "fr", "fr"),
            ("which", "else", "other"),
        ],
    )
    assert (await _talk(engine, builtins, doc, "Bonjour, je cherche ma commande"))[0] == ["Bonjour !"]


async def test_the_language_variable_follows_each_message(engine: Engine, builtins: Registry) -> None:
    doc = _flow(
        [_ask(), _branch("{{ language }}"), _say("fr", "Bonjour !"), _say("other", "Hello!")],
        [("start", "out", "ask"), ("ask", "valid", "which"), ("which", "fr", "fr"), ("which", "else", "other")],
    )
    replies, variables = await _talk(engine, builtins, doc, "Je voudrais changer mon adresse")
    assert replies == ["Bonjour !"] and variables["language"] == "fr"


async def test_a_flow_that_never_mentions_language_does_not_pay_for_it(engine: Engine, builtins: Registry) -> None:
    doc = _flow([_ask(), _say("other", "Thanks!")], [("start", "out", "ask"), ("ask", "valid", "other")])
    replies, variables = await _talk(engine, builtins, doc, "Je voudrais changer mon adresse")
    assert replies == ["Thanks!"] and "language" not in variables


def test_the_step_is_refused_without_a_text(builtins: Registry) -> None:
    node_type = builtins.get("ai.detect_language")
    assert node_type is not None
    with pytest.raises(ValueError, match="Text"):
        node_type.parse({"save_as": "language"}, 1)
    with pytest.raises(ValueError):
        node_type.parse({"text": "{{ q }}", "save_as": "not a name"}, 1)

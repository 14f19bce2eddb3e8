"""Switching a channel to a newer version: new conversations take it; running ones finish on theirs,
or move to it where they stand, as the person deploying chooses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flows.document import parse_flow
from nodes.registry import Registry
from runtime.state import ConversationState
from runtime.store import CONV
from tests.channels.conftest import GREETER, Rig, text_update


def _publish(rig: Rig, builtins: Registry, change: Any) -> int:
    doc = json.loads(json.dumps(GREETER))
    change(doc)
    rig.runtime.flows.save_draft(parse_flow(json.dumps(doc)))
    return rig.runtime.flows.publish("greeter", builtins)


def _welcome(doc: dict[str, Any]) -> None:
    doc["nodes"][1]["settings"]["prompt"] = "Who are you?"
    doc["nodes"][2]["settings"]["text"] = "Welcome aboard, {{ name }}!"


def _renamed(doc: dict[str, Any]) -> None:  # the question is another step now
    doc["nodes"][1]["id"] = "ask_name"
    for edge in doc["edges"]:
        edge["source"] = "ask_name" if edge["source"] == "ask" else edge["source"]
        edge["target"] = "ask_name" if edge["target"] == "ask" else edge["target"]


async def _two_waiting(rig: Rig) -> None:
    await rig.post(text_update(1, "/start", chat=1))
    await rig.post(text_update(2, "/start", chat=2))
    await rig.settle()
    assert rig.fake.texts() == ["What is your name?"] * 2


async def test_running_conversations_finish_on_their_version(rig: Rig, builtins: Registry) -> None:
    await _two_waiting(rig)
    version = _publish(rig, builtins, _welcome)
    assert await rig.channels.switch("telegram", "mybot", version) == (0, 0)
    await rig.post(text_update(3, "Ada", chat=1))
    await rig.post(text_update(4, "/start", chat=3))
    await rig.settle()
    assert rig.fake.texts()[-2:] == ["Nice to meet you, Ada!", "Who are you?"]


async def test_running_conversations_move_and_continue_where_they_were(rig: Rig, builtins: Registry) -> None:
    await _two_waiting(rig)
    version = _publish(rig, builtins, _welcome)
    assert await rig.channels.switch("telegram", "mybot", version, move=True) == (2, 0)
    await rig.post(text_update(3, "Ada", chat=1))
    await rig.post(text_update(4, "Bob", chat=2))
    await rig.settle()
    assert rig.fake.texts()[-2:] == ["Welcome aboard, Ada!", "Welcome aboard, Bob!"]
    with rig.runtime.engine.connect() as c:
        assert {row.version for row in c.execute(CONV.select())} == {version}


async def test_a_conversation_whose_step_is_gone_finishes_on_its_version(rig: Rig, builtins: Registry) -> None:
    await _two_waiting(rig)
    version = _publish(rig, builtins, _renamed)
    assert await rig.channels.switch("telegram", "mybot", version, move=True) == (0, 2)
    await rig.post(text_update(3, "Ada", chat=1))
    await rig.settle()
    assert rig.fake.texts()[-1] == "Nice to meet you, Ada!"


async def test_a_turn_in_between_keeps_the_conversation_consistent(
    rig: Rig, builtins: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conversation answers between reading it for the move and moving it: it is not moved
    with stale state (the save would otherwise undo the answer)."""
    await _two_waiting(rig)
    version = _publish(rig, builtins, _welcome)
    store = rig.runtime.store
    read = store.running

    def answered_meanwhile(*args: Any, **kwargs: Any) -> list[ConversationState]:
        found = read(*args, **kwargs)
        for state in found:  # another worker saved a turn of each since
            fresh = store.load(state.id)
            assert fresh is not None
            store.save_turn(fresh, inbound=None, outbound=[])
        return found

    monkeypatch.setattr(store, "running", answered_meanwhile)
    assert await rig.channels.switch("telegram", "mybot", version, move=True) == (0, 2)


async def test_a_version_never_published_is_refused(rig: Rig) -> None:
    from flows.store import FlowNotFound

    with pytest.raises(FlowNotFound):
        await rig.channels.switch("telegram", "mybot", 7)
    assert rig.store.deployment("telegram", "mybot").version == 1  # type: ignore[union-attr]

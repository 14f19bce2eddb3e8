"""The runtime driven turn by turn through its public API, on a real SQLite database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from flows.document import flow_from_data
from flows.problems import FlowInvalid
from nodes.api import Inbound
from runtime.engine import ConversationNotFound, Runtime
from tests.runtime.testnodes import chain, registry


def publish(rt: Runtime, doc: dict) -> int:
    rt.flows.save_draft(flow_from_data(doc))
    return rt.flows.publish(doc["id"], rt.registry)


@pytest.fixture
async def rt(engine: Engine) -> AsyncIterator[Runtime]:
    runtime = Runtime(engine, registry(), wait_scale=0.01)
    await runtime.startup()
    yield runtime
    await runtime.shutdown()


async def until_ended(rt: Runtime, cid: str, seconds: float = 6) -> None:
    """Wait for timers to carry the conversation to its end; fail if they do not in time."""
    for _ in range(int(seconds / 0.02)):
        state = rt.store.load(cid)
        if state is not None and state.status == "ended":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"conversation {cid} did not end within {seconds} s")


def texts(msgs) -> list[str]:
    return [m.text for m in msgs]


QUIZ = chain(
    "quiz",
    ("s", "test.start", {}),
    ("hi", "test.say", {"text": "Hello {{ user.id }}"}),
    ("q", "test.ask", {"prompt": "Name?", "save_as": "name"}),
    ("bye", "test.say", {"text": "Bye {{ name }}"}),
)


async def test_a_conversation_waits_for_the_user_and_remembers_answers(rt: Runtime) -> None:
    publish(rt, QUIZ)
    cid, first = await rt.start("quiz", user_id="ann")
    assert texts(first) == ["Hello ann", "Name?"]
    state = rt.store.load(cid)
    assert state is not None and state.status == "waiting" and state.node == "q"
    assert texts(await rt.send(cid, Inbound("Zoe"))) == ["Bye Zoe"]
    state = rt.store.load(cid)
    assert state is not None and state.status == "ended" and state.vars["name"] == "Zoe"
    transcript = [(m.direction, m.payload["text"]) for m in rt.store.messages(cid)]
    assert transcript == [("out", "Hello ann"), ("out", "Name?"), ("in", "Zoe"), ("out", "Bye Zoe")]


async def test_the_same_event_delivered_twice_is_handled_once(rt: Runtime) -> None:
    publish(rt, QUIZ)
    cid, _ = await rt.start("quiz")
    first = await rt.send(cid, Inbound("Zoe", event_id="upd-1"))
    again = await rt.send(cid, Inbound("Zoe", event_id="upd-1"))
    assert texts(first) == texts(again) == ["Bye Zoe"]
    inbound = [m for m in rt.store.messages(cid) if m.direction == "in"]
    assert len(inbound) == 1
    state = rt.store.load(cid)
    assert state is not None and state.status == "ended"


async def test_duplicates_arriving_at_the_same_time_are_answered_once(rt: Runtime) -> None:
    publish(rt, QUIZ)
    cid, _ = await rt.start("quiz")
    results = await asyncio.gather(*(rt.send(cid, Inbound("Zoe", event_id="same")) for _ in range(5)))
    assert all(texts(r) == ["Bye Zoe"] for r in results)
    assert sum(m.direction == "in" for m in rt.store.messages(cid)) == 1


async def test_a_redelivery_after_a_restart_is_still_recognised(engine: Engine) -> None:
    first = Runtime(engine, registry())
    publish(first, QUIZ)
    cid, _ = await first.start("quiz")
    await first.send(cid, Inbound("Zoe", event_id="u-7"))
    second = Runtime(engine, registry())
    assert texts(await second.send(cid, Inbound("Zoe", event_id="u-7"))) == ["Bye Zoe"]
    assert sum(m.direction == "in" for m in second.store.messages(cid)) == 1


async def test_many_conversations_run_concurrently_and_each_keeps_its_own_state(rt: Runtime) -> None:
    publish(rt, QUIZ)
    started = await asyncio.gather(*(rt.start("quiz", user_id=f"u{i}") for i in range(30)))
    replies = await asyncio.gather(*(rt.send(cid, Inbound(f"name{i}")) for i, (cid, _) in enumerate(started)))
    assert [texts(r) for r in replies] == [[f"Bye name{i}"] for i in range(30)]


async def test_concurrent_messages_to_one_conversation_are_handled_one_after_the_other(rt: Runtime) -> None:
    doc = chain(
        "twice",
        ("s", "test.start", {}),
        ("a", "test.ask", {"prompt": "A?", "save_as": "a"}),
        ("b", "test.ask", {"prompt": "B?", "save_as": "b"}),
        ("done", "test.say", {"text": "{{ a }}+{{ b }}"}),
    )
    publish(rt, doc)
    cid, _ = await rt.start("twice")
    r1, r2 = await asyncio.gather(rt.send(cid, Inbound("one")), rt.send(cid, Inbound("two")))
    assert texts(r1) == ["B?"] and texts(r2) == ["one+two"]
    state = rt.store.load(cid)
    assert state is not None and state.seq == 3


async def test_two_runtimes_on_one_database_never_lose_an_answer(engine: Engine) -> None:
    # two workers (as two processes would be) race on the same conversation
    doc = chain(
        "race",
        ("s", "test.start", {}),
        ("a", "test.ask", {"prompt": "A?", "save_as": "a"}),
        ("b", "test.ask", {"prompt": "B?", "save_as": "b"}),
        ("done", "test.say", {"text": "{{ a }}+{{ b }}"}),
    )
    one, two = Runtime(engine, registry()), Runtime(engine, registry())
    publish(one, doc)
    cid, _ = await one.start("race")
    results = await asyncio.gather(one.send(cid, Inbound("x")), two.send(cid, Inbound("y")))
    assert sorted(texts(results[0]) + texts(results[1]))[0] == "B?"
    state = one.store.load(cid)
    assert state is not None and state.status == "ended" and {state.vars["a"], state.vars["b"]} == {"x", "y"}


async def test_a_failing_node_without_error_port_leaves_nothing_half_saved(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    doc = chain(
        "fragile",
        ("s", "test.start", {}),
        ("q", "test.ask", {"prompt": "Go?", "save_as": "go"}),
        ("x", "test.boom", {"text": "database exploded"}),
        ("after", "test.say", {"text": "never"}),
    )
    publish(rt, doc)
    cid, _ = await rt.start("fragile")
    before = rt.store.load(cid)
    with caplog.at_level(logging.ERROR):
        reply = await rt.send(cid, Inbound("yes"))
    assert texts(reply) == [rt.fallback_text]
    after = rt.store.load(cid)
    assert after is not None and before is not None
    assert (after.status, after.node, after.vars) == (before.status, before.node, before.vars)
    assert "go" not in after.vars and "touched" not in after.vars
    record = next(r for r in caplog.records if "turn failed" in r.getMessage())
    assert (record.flow_id, record.node_id, record.conversation_id) == ("fragile", "x", cid)
    assert "database exploded" in record.getMessage()


async def test_a_failing_node_leaves_by_its_error_port_when_connected(rt: Runtime) -> None:
    doc = chain(
        "guarded",
        ("s", "test.start", {}),
        ("x", "test.boom", {"text": "no network"}),
        ("ok", "test.say", {"text": "fine"}),
        ("err", "test.say", {"text": "Sorry: {{ error }}"}),
        edges=[("s", "out", "x"), ("x", "out", "ok"), ("x", "error", "err")],
    )
    publish(rt, doc)
    _, msgs = await rt.start("guarded")
    assert texts(msgs) == ["Sorry: no network"]


async def test_a_loop_that_never_waits_is_stopped_by_the_step_limit(engine: Engine, caplog) -> None:
    rt = Runtime(engine, registry(), step_limit=50)
    doc = chain(
        "spin",
        ("s", "test.start", {}),
        ("c", "test.count", {"limit": 10_000}),
        ("end", "test.end", {}),
        edges=[("s", "out", "c"), ("c", "loop", "c"), ("c", "done", "end")],
    )
    publish(rt, doc)  # a loop with a way out is only a warning
    with caplog.at_level(logging.ERROR):
        cid, msgs = await rt.start("spin")
    assert texts(msgs) == [rt.fallback_text]
    assert any("50 steps" in r.getMessage() and "loops forever" in r.getMessage() for r in caplog.records)
    state = rt.store.load(cid)
    assert state is not None and state.status == "failed" and "n" not in state.vars


async def test_a_bounded_loop_runs_to_its_end(rt: Runtime) -> None:
    doc = chain(
        "count",
        ("s", "test.start", {}),
        ("c", "test.count", {"limit": 5}),
        ("end", "test.end", {"text": "n={{ n }}"}),
        edges=[("s", "out", "c"), ("c", "loop", "c"), ("c", "done", "end")],
    )
    publish(rt, doc)
    _, msgs = await rt.start("count")
    assert texts(msgs) == ["n=5"]


async def test_a_conversation_stays_on_the_version_it_started_on(rt: Runtime) -> None:
    v1 = publish(rt, QUIZ)
    cid, _ = await rt.start("quiz")
    changed = {
        **QUIZ,
        "nodes": [*QUIZ["nodes"][:3], {"id": "bye", "type": "test.say", "settings": {"text": "Ciao {{ name }}"}}],
    }
    v2 = publish(rt, changed)
    assert (v1, v2) == (1, 2)
    assert texts(await rt.send(cid, Inbound("Zoe"))) == ["Bye Zoe"]
    cid2, _ = await rt.start("quiz")
    assert texts(await rt.send(cid2, Inbound("Zoe"))) == ["Ciao Zoe"]
    assert rt.flows.version("quiz", 1).flow.nodes[3].settings["text"] == "Bye {{ name }}"


async def test_an_ended_conversation_starts_again_on_the_next_message(rt: Runtime) -> None:
    publish(rt, QUIZ)
    cid, _ = await rt.start("quiz", user_id="ann")
    await rt.send(cid, Inbound("Zoe"))
    assert texts(await rt.send(cid, Inbound("hi again"))) == ["Hello ann", "Name?"]


async def test_sub_flows_share_only_the_named_variables_and_return(rt: Runtime) -> None:
    child = chain(
        "child",
        ("s", "test.start", {}),
        ("q", "test.ask", {"prompt": "Email for {{ name }}? secret={{ secret }}", "save_as": "email"}),
        ("end", "test.end", {"text": "saved"}),
    )
    parent = chain(
        "parent",
        ("s", "test.start", {}),
        ("call", "test.call", {"flow_id": "child", "share": ["name", "email"]}),
        ("done", "test.say", {"text": "Back: {{ email }} / {{ name }}"}),
    )
    publish(rt, child)
    publish(rt, parent)
    cid, first = await rt.start("parent", variables={"name": "Ann", "secret": "s3"})
    assert texts(first) == ["Email for Ann? secret="]
    assert texts(await rt.send(cid, Inbound("ann@example.com"))) == ["saved", "Back: ann@example.com / Ann"]
    state = rt.store.load(cid)
    assert state is not None and state.vars["secret"] == "s3" and state.stack == []


async def test_calling_a_flow_that_is_not_published_leaves_by_error(rt: Runtime) -> None:
    doc = chain(
        "caller",
        ("s", "test.start", {}),
        ("call", "test.call", {"flow_id": "ghost"}),
        ("ok", "test.say", {"text": "ok"}),
        ("err", "test.say", {"text": "missing"}),
        edges=[("s", "out", "call"), ("call", "out", "ok"), ("call", "error", "err")],
    )
    publish(rt, doc)
    _, msgs = await rt.start("caller")
    assert texts(msgs) == ["missing"]


async def test_a_wait_resumes_the_conversation_by_timer(rt: Runtime) -> None:
    doc = chain(
        "napper",
        ("s", "test.start", {}),
        ("z", "test.nap", {"seconds": 10}),  # 10 s scaled by wait_scale=0.01
        ("after", "test.say", {"text": "Good morning"}),
    )
    publish(rt, doc)
    woke: asyncio.Queue = asyncio.Queue()
    rt.subscribe(lambda cid, msgs: woke.put_nowait(texts(msgs)))
    cid, msgs = await rt.start("napper")
    assert texts(msgs) == ["Sleeping."]
    assert await woke.get() == ["Sleeping."]
    assert await asyncio.wait_for(woke.get(), 10) == ["Awake.", "Good morning"]
    state = rt.store.load(cid)
    assert state is not None and state.status == "ended"


async def test_a_message_while_sleeping_is_kept_but_does_not_skip_the_wait(rt: Runtime) -> None:
    doc = chain(
        "napper2", ("s", "test.start", {}), ("z", "test.nap", {"seconds": 3600}), ("a", "test.say", {"text": "x"})
    )
    publish(rt, doc)
    cid, _ = await rt.start("napper2")
    assert await rt.send(cid, Inbound("are you there?")) == []
    state = rt.store.load(cid)
    assert state is not None and state.status == "sleeping"
    assert [m.payload["text"] for m in rt.store.messages(cid) if m.direction == "in"] == ["are you there?"]


async def test_an_input_timeout_fires_unless_the_user_answers_first(rt: Runtime) -> None:
    doc = chain(
        "timed",
        ("s", "test.start", {}),
        ("q", "test.ask", {"prompt": "Quick?", "timeout": 20}),
        ("ok", "test.say", {"text": "answered"}),
        ("late", "test.say", {"text": "late"}),
        edges=[("s", "out", "q"), ("q", "out", "ok"), ("q", "timeout", "late")],
    )
    publish(rt, doc)
    fast, _ = await rt.start("timed")
    slow, _ = await rt.start("timed")
    assert rt.timers.pending() == 2
    assert texts(await rt.send(fast, Inbound("now"))) == ["answered"]
    assert rt.timers.pending() == 1  # the answered one's timer was cancelled
    await until_ended(rt, slow)
    assert [m.payload["text"] for m in rt.store.messages(slow)][-2:] == ["Too slow.", "late"]


async def test_a_wait_survives_a_restart(engine: Engine) -> None:
    first = Runtime(engine, registry(), wait_scale=0.01)
    await first.startup()
    doc = chain(
        "nap3", ("s", "test.start", {}), ("z", "test.nap", {"seconds": 150}), ("a", "test.say", {"text": "back"})
    )
    publish(first, doc)
    cid, _ = await first.start("nap3")
    await first.shutdown()  # the process stops before the timer is due
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from apscheduler_jobs")).scalar() == 1
    del first  # the old process is gone: only the new one can handle the stored job
    second = Runtime(engine, registry(), wait_scale=0.01)
    await second.startup()
    try:
        await until_ended(second, cid)
        assert [m.payload["text"] for m in second.store.messages(cid)][-2:] == ["Awake.", "back"]
    finally:
        await second.shutdown()


async def test_a_lost_timer_is_re_armed_at_start_up(engine: Engine) -> None:
    first = Runtime(engine, registry(), wait_scale=0.01)
    await first.startup()
    doc = chain(
        "nap4", ("s", "test.start", {}), ("z", "test.nap", {"seconds": 100}), ("a", "test.say", {"text": "back"})
    )
    publish(first, doc)
    cid, _ = await first.start("nap4")
    await first.shutdown()
    with engine.begin() as conn:  # as if the process died between saving and scheduling
        conn.execute(text("delete from apscheduler_jobs"))
    second = Runtime(engine, registry(), wait_scale=0.01)
    await second.startup()
    try:
        await until_ended(second, cid)
    finally:
        await second.shutdown()


async def test_unknown_conversations_and_invalid_flows_are_refused(rt: Runtime) -> None:
    with pytest.raises(ConversationNotFound):
        await rt.send("nope", Inbound("hi"))
    bad = chain("bad", ("s", "test.start", {}), ("x", "missing.type", {}))
    rt.flows.save_draft(flow_from_data(bad))
    with pytest.raises(FlowInvalid) as err:
        rt.flows.publish("bad", rt.registry)
    assert "missing.type" in str(err.value)
    assert rt.flows.versions("bad") == []

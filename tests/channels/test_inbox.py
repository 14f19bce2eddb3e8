"""The webhook's hot path: events arriving together share one commit, a failed write loses the
acknowledgement (so the platform sends again) and stores nothing, and the worker makes way for
waiting webhooks without stopping."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from runtime.channels import inbox, service
from runtime.channels.service import GroupCommit
from runtime.channels.store import BATCH, INBOX, LEASE
from runtime.store import TURN
from tests.channels.conftest import SECRET, Rig, text_update


def _inbox(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(INBOX)).scalar_one())


async def test_requests_that_arrive_together_share_one_commit(rig: Rig, engine: Engine) -> None:
    writes: list[int] = []
    write = rig.store.receive_many

    def counted(items: list[Any]) -> list[bool]:
        writes.append(len(items))
        return write(items)

    rig.channels.inbox._group.write = counted
    updates = [text_update(100 + n, "hi", chat=9000 + n) for n in range(12)] + [text_update(105, "hi", chat=9005)]
    answers = await asyncio.gather(*(rig.post(u) for u in updates))
    assert [a.status_code for a in answers] == [200] * 13
    assert sum(a.json()["new"] for a in answers) == 12  # the redelivery inside the batch is known
    assert len(writes) < 13 and sum(writes) == 13, writes
    assert _inbox(engine) == 12
    await rig.settle()
    assert len(rig.fake.texts()) == 12  # each chat asked once


async def test_a_failed_write_is_not_acknowledged_and_stores_nothing(
    rig: Rig, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    write = rig.store.receive_many
    calls = 0

    def full_disk(items: list[Any]) -> list[bool]:
        nonlocal calls
        calls += 1
        if calls == 1:  # the events reach the table, then the commit fails: all of it rolls back
            with rig.store.engine.begin() as c:
                for channel, account, event_id, event in items:
                    c.execute(
                        INBOX.insert().values(
                            channel=channel, account=account, event_id=event_id, event=json.dumps(event), received_at=0
                        )
                    )
                raise OSError("database or disk is full")
        return write(items)

    rig.channels.inbox._group.write = full_disk
    answers = await asyncio.gather(*(rig.post(text_update(200 + n, "hi", chat=8000 + n)) for n in range(3)))
    assert [a.status_code for a in answers] == [500] * 3
    assert all(a.json() == {"detail": "Something went wrong on our side."} for a in answers)
    assert "disk is full" not in " ".join(a.text for a in answers)
    assert _inbox(engine) == 0
    again = await asyncio.gather(*(rig.post(text_update(200 + n, "hi", chat=8000 + n)) for n in range(3)))
    assert [a.json()["new"] for a in again] == [1, 1, 1]  # the platform's redelivery is taken as new
    assert "unexpected error on a telegram/mybot webhook" in caplog.text and SECRET not in caplog.text


async def test_a_request_that_went_away_does_not_break_the_others() -> None:
    stored: list[str] = []

    def write(items: list[str]) -> list[bool]:
        stored.extend(items)
        return [True] * len(items)

    commit = GroupCommit(write)
    gone = asyncio.ensure_future(commit.add(["a"]))
    kept = asyncio.ensure_future(commit.add(["b", "c"]))
    await asyncio.sleep(0)
    gone.cancel()
    assert await kept == [True, True]
    assert stored == ["a", "b", "c"]  # stored all the same: a redelivery of "a" will be found


async def test_the_worker_makes_way_for_waiting_webhooks_but_keeps_going(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(inbox, "_sleep", sleep)
    for n in range(3):
        await rig.post(text_update(300 + n, "hi", chat=7000 + n))
    rig.channels.inbox.waiting = 1  # a webhook request is waiting for its commit
    assert await rig.channels.handle_inbox() == 3  # the events are still handled
    assert len(slept) == 3 and all(0 < s <= 0.1 for s in slept), slept
    rig.channels.inbox.waiting = 0
    slept.clear()
    await rig.post(text_update(310, "hi", chat=7010))
    await rig.channels.handle_inbox()
    assert slept == [0]  # nobody waiting: no pause


async def _until(check: Any, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_two_workers_never_send_a_message_twice(rig: Rig) -> None:
    """Two workers on one database (`chatloom worker` started twice). On SQLite one holds the lease
    and does the work; on PostgreSQL both work, each chat claimed by one. Either way each message
    goes once, and when one worker stops the other carries on."""
    other = service.Channels(rig.runtime, rig.store, pace={}, poll=0.05)
    rig.channels.poll = other.poll
    for crew in (rig.channels.chats, rig.channels.conversations):
        crew.poll = 0.05
    await rig.channels.start()
    await other.start()
    try:
        for n in range(8):
            await rig.post(text_update(400 + n, "/start", chat=6000 + n))
        await _until(lambda: len(rig.fake.sent) >= 8)
        await asyncio.sleep(0.3)  # a second sender would have sent by now
        assert sorted(int(m["chat_id"]) for m in rig.fake.sent) == [6000 + n for n in range(8)]
        with rig.store.engine.connect() as c:
            holders = [row.holder for row in c.execute(select(LEASE))]
        if rig.store.engine.dialect.name == "sqlite":
            assert len(holders) == 1
            first = rig.channels if holders[0] == rig.channels.holder else other
        else:
            assert holders == [] and rig.channels.claims.ready and other.claims.ready  # no lease: claims
            first = rig.channels
        second = other if first is rig.channels else rig.channels
        await first.stop()
        await rig.post(text_update(500, "/start", chat=6100))
        second.nudge()
        await _until(lambda: len(rig.fake.sent) >= 9)
        assert int(rig.fake.sent[-1]["chat_id"]) == 6100
    finally:
        await other.stop()


async def test_a_first_message_handled_again_after_a_crash_is_not_read_as_an_answer(rig: Rig, engine: Engine) -> None:
    """A worker killed after the first message's turn was saved and before the event was marked
    done: the next worker handles the event again. It must be known as the turn that started the
    conversation, not read as the answer to the question that turn asked."""
    await rig.post(text_update(600, "hello there", chat=6600))
    await rig.settle()
    asked = len(rig.fake.sent)
    assert asked >= 1
    with engine.begin() as c:  # as if the worker died before finishing the event
        c.execute(INBOX.update().values(status="new"))
    await rig.settle()
    assert len(rig.fake.sent) == asked  # nothing answered twice
    cid = rig.store.chat_for("telegram", "mybot", "6600")[0]
    with engine.connect() as c:
        turns = c.execute(select(TURN.c.seq, TURN.c.inbound).where(TURN.c.conversation_id == cid)).all()
    assert [seq for seq, _ in turns] == [1]
    assert json.loads(turns[0][1])["text"] == "hello there"  # the first message is in the transcript
    state = rig.runtime.store.load(cid)
    assert state is not None and state.status == "waiting" and state.node == "ask"


async def test_the_turn_that_answers_an_event_marks_it_handled_in_its_own_transaction(rig: Rig, engine: Engine) -> None:
    """Nothing is left between the turn and the event's mark: a worker that dies right after the
    turn's commit leaves the event handled (its marking needs no second write)."""
    await rig.post(text_update(700, "hi", chat=7700))
    await rig.post(text_update(701, "Ada", chat=7700))
    asked: list[list[int]] = []

    def died(row_ids: list[int], error: str = "") -> None:
        if row_ids:
            asked.append(row_ids)
            raise RuntimeError("the worker died here")

    rig.store.finish_events = died  # type: ignore[method-assign]
    await rig.channels.handle_inbox()
    assert asked == []
    with engine.connect() as c:
        assert [s for (s,) in c.execute(select(INBOX.c.status).order_by(INBOX.c.id))] == ["done", "done"]
        assert c.execute(select(func.count()).select_from(TURN)).scalar_one() == 2


def test_a_batch_larger_than_one_statement_is_stored_whole_and_redeliveries_known(rig: Rig, engine: Engine) -> None:
    """More events than one INSERT takes (store.BATCH) arrive together: all stored in one
    transaction, an event seen earlier in the batch or before it reported as not new."""
    key = rig.store.ids.key
    count = BATCH + 20
    events = [("telegram", "mybot", str(n), key("in", "telegram", "mybot", str(n)), {"n": n}) for n in range(count)]
    assert rig.store.receive_many(events[:5]) == [True] * 5
    fresh = rig.store.receive_many([*events, events[BATCH + 1]])
    assert fresh == [False] * 5 + [True] * (count - 5) + [False]
    assert _inbox(engine) == count

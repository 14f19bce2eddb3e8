"""Wake-up timers: persistent APScheduler jobs in the same database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

from runtime.timers import Timers


async def test_ten_thousand_jobs_due_at_once_all_fire(engine: Engine) -> None:
    fired: set[str] = set()
    done = asyncio.Event()
    total = 10_000

    async def fire(conversation_id: str, token: str) -> None:
        fired.add(conversation_id)
        if len(fired) == total:
            done.set()

    timers = Timers(engine, fire, name="ten-thousand")
    due = datetime.now(UTC) - timedelta(seconds=1)
    for i in range(total):  # scheduled while stopped: the store receives them at start
        timers.schedule(f"c{i}", "t", due)
    timers.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=240)
    finally:
        timers.shutdown()
    assert len(fired) == total
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from apscheduler_jobs")).scalar() == 0


async def test_a_cancelled_timer_does_not_fire(engine: Engine) -> None:
    fired: list[str] = []

    async def fire(conversation_id: str, token: str) -> None:
        fired.append(conversation_id)

    timers = Timers(engine, fire, name="cancel")
    timers.start()
    try:
        soon = datetime.now(UTC) + timedelta(seconds=0.3)
        timers.schedule("keep", "a", soon)
        timers.schedule("drop", "b", soon)
        timers.cancel("drop", "b")
        timers.cancel("never-scheduled", "x")  # harmless
        await asyncio.sleep(1.0)
    finally:
        timers.shutdown()
    assert fired == ["keep"]

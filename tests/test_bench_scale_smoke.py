"""The scale benchmark, short: several webhook and worker processes on one database, workers killed
with SIGKILL, PostgreSQL restarted, and still every message answered once and in order, one turn
each, nothing left in the inbox or the outbox. Correctness only: no speed is asserted (each run
has a time limit so that it cannot hang; reaching it is reported as a problem)."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import bench_scale
from tests.fakes.postgres import missing

NO_POSTGRES = missing()
needs_postgres = pytest.mark.skipif(NO_POSTGRES is not None, reason=f"no private PostgreSQL here: {NO_POSTGRES}")


def assert_adds_up(r: dict[str, Any]) -> None:
    assert r["problems"] == []
    assert r["sent"] == r["answered"] == r["messages"]
    assert r["event_turns"] == r["messages"]  # one turn per message (a chat's first starts its conversation)
    assert r["outbox"] == {}
    assert "new" not in r["inbox"]


@needs_postgres
def test_workers_killed_every_3_seconds_lose_nothing_and_answer_in_order() -> None:
    r = bench_scale.run(database="postgres", workers=3, hooks=2, chats=50, messages=450, kill_every=3.0, limit=150)
    assert_adds_up(r)
    assert r["kills"] >= 2


@needs_postgres
def test_postgres_restarted_under_load_loses_nothing() -> None:
    r = bench_scale.run(
        database="postgres", workers=2, hooks=2, chats=50, messages=300, kill_every=None, restart_db_at=4.0, limit=120
    )
    assert_adds_up(r)
    assert r["restarts"] == 1


def test_sqlite_with_one_worker_answers_everything_in_order() -> None:
    r = bench_scale.run(database="sqlite", workers=1, hooks=1, chats=20, messages=100, kill_every=None, limit=120)
    assert_adds_up(r)

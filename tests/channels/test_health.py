"""GET /health says the process answers; GET /ready says whether it can do its job, and in plain
words why not: the database does not answer, or so many events wait that the webhooks are refused.
A `chatloom worker` serves both on --health-port, ready once it holds its claims."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from chatloom.cli import main
from runtime import api
from runtime.channels import inbox
from runtime.channels.store import INBOX
from tests.channels.conftest import SECRET, TOKEN, Rig, text_update
from tests.test_serve import ROOT, free_port

FULL = "Too many messages are waiting to be answered."
NO_DATABASE = "The database does not answer."


def _stored(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(INBOX)).scalar_one())


async def _count_backlog(rig: Rig) -> None:
    """One count of the backlog watcher, as every process runs it every few seconds."""
    watcher = asyncio.ensure_future(rig.channels.inbox.watch_backlog())
    while rig.channels.inbox.backlog != await rig.runtime.io(rig.store.backlog):
        await asyncio.sleep(0.01)
    watcher.cancel()


async def test_ready_when_the_database_answers_and_the_inbox_has_room(rig: Rig, engine: Engine) -> None:
    assert (await rig.client.get("/health")).json() == {"status": "ok"}
    ready = await rig.client.get("/ready")  # no credentials: a load balancer's probe has none
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and "detail" not in body
    assert body["channels"] == {
        "working": False,  # the test drives the work itself (no worker started)
        "claims": True,
        "chats": 0,
        "conversations": 0,
        "handled": 0,
        "sent": 0,
        "resent": 0,
        "backlog": 0,
        "backlog_limit": inbox.MAX_BACKLOG,
    }
    for secret in (TOKEN, SECRET, engine.url.render_as_string(hide_password=False), str(engine.url.database)):
        assert secret not in ready.text


async def test_a_full_inbox_is_not_ready_and_its_webhooks_store_nothing(
    rig: Rig, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox, "MAX_BACKLOG", 3)
    for n in range(3):
        assert (await rig.post(text_update(10 + n, "hi", chat=500 + n))).status_code == 200
    await _count_backlog(rig)

    ready = await rig.client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["detail"] == FULL
    assert ready.json()["channels"]["backlog"] == 3
    refused = await rig.post(text_update(20, "hi", chat=600))
    assert refused.status_code == 503  # the platform sends it again later
    assert _stored(engine) == 3

    await rig.settle()  # the worker catches up
    await _count_backlog(rig)
    assert (await rig.client.get("/ready")).status_code == 200
    assert (await rig.post(text_update(20, "hi", chat=600))).status_code == 200
    assert _stored(engine) == 4


async def test_not_ready_when_the_database_cannot_be_opened(
    rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "no such folder" / "chatloom.db"
    monkeypatch.setattr(rig.runtime, "engine", create_engine(f"sqlite:///{gone}"))
    ready = await rig.client.get("/ready")
    assert (ready.status_code, ready.json()["status"], ready.json()["detail"]) == (503, "not ready", NO_DATABASE)
    assert str(gone) not in ready.text
    assert (await rig.client.get("/health")).status_code == 200  # the process itself answers

    monkeypatch.undo()
    assert (await rig.client.get("/ready")).status_code == 200


async def test_a_database_that_hangs_is_asked_once_however_often_the_probes_come(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    answer = asyncio.Event()
    io = rig.runtime.io

    async def slow(fn: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(fn.__name__)
        await answer.wait()
        return await io(fn, *args, **kwargs)

    monkeypatch.setattr(api, "PING_WAIT", 0.05)
    monkeypatch.setattr(rig.runtime, "io", slow)
    for _ in range(3):
        ready = await rig.client.get("/ready")
        assert (ready.status_code, ready.json()["detail"]) == (503, NO_DATABASE)
    assert len(asked) == 1  # one query waits; the probes do not pile more on it

    answer.set()
    monkeypatch.undo()  # the usual wait again, for the query under way
    assert (await rig.client.get("/ready")).status_code == 200


def test_a_health_port_in_use_stops_the_worker_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["worker", "--data", str(tmp_path / "data"), "--health-port", str(port)])
    assert code == 1
    assert capsys.readouterr().err == (
        f"chatloom: Port {port} on 127.0.0.1 is in use by another program; choose another with --health-port.\n"
    )
    assert not (tmp_path / "data").exists()  # refused before anything was written


def test_a_worker_serves_its_health_until_it_is_stopped(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CHATLOOM_DATA": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "chatloom", "worker", "--health-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert worker.stdout is not None
        said = [worker.stdout.readline()]
        while ": handling channel events" not in said[-1] and len(said) < 20:
            said.append(worker.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        assert said[-1].startswith("Chatloom worker "), said
        assert any(f": health on {base}/health and {base}/ready" in line for line in said), said
        assert httpx.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
        for _ in range(600):  # generous: a loaded machine
            ready = httpx.get(f"{base}/ready", timeout=5)
            if ready.status_code == 200:
                break
            assert ready.status_code == 503 and worker.poll() is None, ready.text
            time.sleep(0.1)
        assert ready.status_code == 200, ready.text
        assert ready.json()["channels"]["claims"] is True
    finally:
        worker.terminate()
        out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, out
    assert re.search(r"worker \S+ stopping after \d+ events handled and 0 messages sent", out), out

"""The channel message path at scale, and through crashes: Telegram webhooks in, a flow step per
message, replies out through the outbox, with several webhook and worker processes on one database.

`run()` starts a fresh database (a private PostgreSQL cluster, or SQLite in a temporary data folder),
a fake Telegram and the load generator in this process (scale_load), `hooks` webhook processes and
`workers` worker processes (scale_fleet), and sends `messages` messages across `chats` chats to the
echo flow, which answers each with one message naming it ("got m3"). Optionally a worker is killed
with SIGKILL every `kill_every` seconds (and another started), and PostgreSQL is stopped and started
again `restart_db_at` seconds in. When the load has drained it checks what a person would notice
(every message answered once and in order) and what the tables say (one turn per message, no event
left unhandled, nothing left or dead in the outbox); `problems` lists what is wrong.

`python -m benchmarks.bench_scale [--quick]` prints one line per run and a capacity estimate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import scale_checks as checks
from benchmarks.scale_fleet import ROOT, Fleet
from benchmarks.scale_load import GAP, Ledger, Load, Message

TOKEN = "123456:SCALE-token"
ACCOUNT = "scale"
LIMIT = 20 * 60  # seconds a run may take in all
STALL = 60.0  # seconds with no answer at all while messages wait: the run gives up (a takeover takes ~1 s)
FIRST_CHAT = 1_000_000  # the chats are FIRST_CHAT, FIRST_CHAT + 1, …
QUIET = 3.0  # seconds with nothing new at the fake (and nothing left to send) before the checks
ECHO = {
    "schema_version": 1,
    "id": "echo",
    "name": "Echo",
    "start": "start",
    "nodes": [
        {"id": "start", "type": "flow.start"},
        {
            "id": "first",
            "type": "variable.set",
            "settings": {"assignments": [{"variable": "said", "expression": "'start'"}]},
        },
        # the question is the answer: one message per turn ("got m3"), asked again for ever
        {"id": "ask", "type": "input.text", "settings": {"prompt": "got {{ said }}", "save_as": "said", "retries": 10}},
        {"id": "again", "type": "flow.jump", "settings": {"target": "ask"}},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "first"},
        {"id": "e2", "source": "first", "target": "ask"},
        {"id": "e3", "source": "ask", "source_port": "valid", "target": "again"},
        {"id": "e4", "source": "ask", "source_port": "invalid", "target": "again"},
    ],
}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _database(kind: str, folder: Path) -> Iterator[tuple[dict[str, str], Any]]:
    """The environment that names the database, and the private cluster (None for SQLite)."""
    if kind == "sqlite":
        yield {"CHATLOOM_DATA": str(folder / "data")}, None
        return
    from tests.fakes.postgres import private_postgres

    with private_postgres() as pg:
        yield {"DATABASE_URL": pg.url}, pg


def _url(env: dict[str, str]) -> str:
    return env.get("DATABASE_URL") or f"sqlite:///{Path(env['CHATLOOM_DATA']) / 'chatloom.db'}"


def _engine(env: dict[str, str]) -> Any:
    """A plain engine for the checks (no tables made, as the runtime's make_engine would)."""
    from sqlalchemy import create_engine

    return create_engine(_url(env), pool_pre_ping=True)


def run(
    *,
    database: str,
    workers: int,
    hooks: int,
    chats: int,
    messages: int,
    kill_every: float | None,
    restart_db_at: float | None = None,
    seed: int = 0,
    rate: float | None = None,
    arrivals: float = 0.0,
    limit: float = LIMIT,
    stall: float = STALL,
) -> dict[str, Any]:
    """One run; its figures, and `problems` (empty: every check passed). With `rate`, the messages
    are sent at that many a second (open loop) instead of by chats that wait for their answers; with
    `arrivals`, the chats come one after another over that many seconds instead of all at once (new
    conversations start while workers are killed). `limit` bounds the whole run in seconds; `stall`
    gives up when no answer came for that long."""
    if database not in ("postgres", "sqlite"):
        raise ValueError(f"database is 'postgres' or 'sqlite', not {database!r}")
    if restart_db_at is not None and database != "postgres":
        raise ValueError("restart_db_at needs database='postgres'")
    from cryptography.fernet import Fernet

    figures: dict[str, Any] = {
        "database": database,
        "workers": workers,
        "hooks": hooks,
        "chats": chats,
        "messages": messages,
        "kill_every": kill_every,
        "restart_db_at": restart_db_at,
        "rate": rate,
        "arrivals": arrivals,
    }
    deadline = time.time() + limit
    folder = Path(tempfile.mkdtemp(prefix="chatloom-bench-scale-"))
    try:
        with _database(database, folder) as (where, pg):
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CHATLOOM_DATA")}
            env |= where | {"CHATLOOM_SECRET_KEY": Fernet.generate_key().decode(), "TELEGRAM_BOT_TOKEN": TOKEN}
            fake_port = _port()
            _deploy(folder, env, fake_port)
            fleet = Fleet(folder, env)
            try:
                ports = [_port() for _ in range(hooks)]
                # one process first: two that start together on an empty PostgreSQL database both
                # create the tables the CLI has not made yet, and one of them fails
                fleet.start_hook(ports[0])
                fleet.wait_ready()
                for port in ports[1:]:
                    fleet.start_hook(port)
                for _ in range(workers):
                    fleet.start_worker()
                fleet.wait_ready()
                plan = Plan(chats, messages, rate, kill_every, restart_db_at, seed, arrivals)
                load = Run(plan, fleet, pg=pg, env=env, deadline=deadline, stall=stall)
                figures |= asyncio.run(load.run(fake_port, ports))
            finally:
                fleet.stop()
            figures |= _cpu(figures, fleet)
            figures["errors_logged"] = fleet.errors()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def _deploy(folder: Path, env: dict[str, str], fake_port: int) -> None:
    """The echo flow published and deployed on a Telegram account whose API is the fake."""
    (folder / "echo.json").write_text(json.dumps(ECHO))
    for args in (
        ["import", str(folder / "echo.json"), "--publish"],
        ["deploy", "telegram", ACCOUNT, "echo", "--api-base", f"http://127.0.0.1:{fake_port}"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "chatloom", *args], env=env, cwd=ROOT, capture_output=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"chatloom {args[0]} failed: {done.stderr.decode(errors='replace')}")


@dataclass
class Plan:
    """What a run sends and when, and the disruptions."""

    chats: int
    messages: int
    rate: float | None = None
    kill_every: float | None = None
    restart_db_at: float | None = None
    seed: int = 0
    arrivals: float = 0.0  # closed loop: the chats' first messages spread over this many seconds

    def by_chat(self, ledger: Ledger, rng: random.Random) -> dict[int, list[Message]]:
        """Message j goes to chat j mod chats (its k-th, k = j // chats + 1); update ids are unique."""
        found: dict[int, list[Message]] = {}
        first_update = rng.randrange(1_000_000, 100_000_000)
        for j in range(self.messages):
            m = Message(chat=FIRST_CHAT + j % self.chats, k=j // self.chats + 1, update_id=first_update + j)
            ledger.add(m)
            found.setdefault(m.chat, []).append(m)
        return found

    def send_at(self, m: Message, started: float) -> float:
        """Open loop: message j is sent j / rate seconds after the start."""
        assert self.rate
        return started + ((m.k - 1) * self.chats + m.chat - FIRST_CHAT) / self.rate


class Run:
    """The load of one run in this process's event loop: the fake Telegram, the chats, the kills and
    the restart, then the wait for the tables to drain and the checks."""

    def __init__(
        self, plan: Plan, fleet: Fleet, *, pg: Any, env: dict[str, str], deadline: float, stall: float
    ) -> None:
        self.plan, self.fleet, self.pg, self.env = plan, fleet, pg, env
        self.deadline, self.stall = deadline, stall
        self.rng = random.Random(plan.seed)
        self.ledger = Ledger()
        self.engine = _engine(env)  # for the checks, and to read a worker's claims before it is killed
        self.claim_keys: dict[int, int] = {}  # a chat's claim keys (its inbox's, its conversation's) → chat
        self.kills: list[checks.Kill] = []
        self.restarts: list[tuple[float, float]] = []
        self.problems: list[str] = []
        self.cut_short = False  # out of time, or stalled: what was not answered yet is not checked

    async def run(self, fake_port: int, ports: list[int]) -> dict[str, Any]:
        import uvicorn

        from tests.fakes.telegram import FakeTelegram

        fake = FakeTelegram(TOKEN, on_sent=self.ledger.on_sent)
        config = uvicorn.Config(fake.app(), host="127.0.0.1", port=fake_port, log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                raise RuntimeError("the fake Telegram did not start")
            await asyncio.sleep(0.02)
        urls = [f"http://127.0.0.1:{p}/hooks/telegram/{ACCOUNT}" for p in ports]
        load = Load(self.ledger, urls, await asyncio.to_thread(self._prepare), self.deadline)
        try:
            figures = await self._measure(load)
        finally:
            await load.close()
            server.should_exit = True
            await serving
            self.engine.dispose()
        return figures

    async def _measure(self, load: Load) -> dict[str, Any]:
        cpu_self, cpu_db = time.process_time(), self._db_cpu()
        started = time.time()
        chats = self.plan.by_chat(self.ledger, self.rng)
        if self.plan.rate:
            senders = [load.open_chat(ms, [self.plan.send_at(m, started) for m in ms]) for ms in chats.values()]
        else:
            spread = self.plan.arrivals / self.plan.chats
            senders = [load.closed_chat(ms, started + n * spread) for n, ms in enumerate(chats.values())]
        sending = asyncio.gather(*senders)
        side = [asyncio.create_task(self._watch_workers())]
        if self.plan.kill_every:
            side.append(asyncio.create_task(self._kill(self.plan.kill_every)))
        if self.plan.restart_db_at is not None and self.pg is not None:
            side.append(asyncio.create_task(self._restart(started + self.plan.restart_db_at)))
        try:
            await self._until_done(sending)
        finally:
            sending.cancel()
            for task in side:
                task.cancel()
            ended = await asyncio.gather(sending, *side, return_exceptions=True)
        for failed in ended:  # a kill or restart that could not be done is a failed run, not a pass
            if isinstance(failed, Exception):
                self.problems.append(f"the harness failed: {type(failed).__name__}: {failed}")
        answers = [m.answered_at for m in self.ledger.messages.values() if m.answered_at is not None]
        wall = max(answers, default=time.time()) - started
        await self._drain()
        figures: dict[str, Any] = {
            "wall_s": wall,
            "cpu_load_s": time.process_time() - cpu_self,
            "cpu_db_s": self._db_cpu() - cpu_db,
            "restarts": len(self.restarts),
            "cut_short": self.cut_short,
        }
        disruptions = [k.at for k in self.kills] + [stopped for stopped, _ in self.restarts]
        figures |= checks.takeover(self.kills)
        seen = checks.replies(self.ledger, disruptions, cut_short=self.cut_short)
        held = await asyncio.to_thread(checks.tables, self.engine, ACCOUNT, self.ledger, cut_short=self.cut_short)
        return figures | seen | held | {"problems": self.problems + seen["problems"] + held["problems"]}

    def _db_cpu(self) -> float:
        return float(self.pg.cpu_seconds()) if self.pg is not None else 0.0

    def _prepare(self) -> str:
        """The deployment's webhook secret token (read as the server reads it), and the chats' claim
        keys as the workers compute them (runtime/channels/claims.py), to see whose chats a worker held."""
        from flows.db import make_engine
        from runtime.channels.secretbox import SecretBox
        from runtime.channels.store import ChannelStore

        engine = make_engine(_url(self.env))
        try:
            store = ChannelStore(engine, SecretBox(self.env["CHATLOOM_SECRET_KEY"].encode()))
            found = store.deployment("telegram", ACCOUNT)
            if found is None:
                raise RuntimeError("the deployment was not made")
            ids = store.ids
            for n in range(self.plan.chats):
                chat = str(FIRST_CHAT + n)
                self.claim_keys[ids.key("in", "telegram", ACCOUNT, chat)] = int(chat)
                self.claim_keys[ids.key("out", ids.of("telegram", ACCOUNT, chat))] = int(chat)
            return str(found.credentials["secret_token"])
        finally:
            engine.dispose()

    async def _until_done(self, sending: asyncio.Future[Any]) -> None:
        """Wait for the senders (each waits for its answers); give up at the deadline or a stall."""
        while not sending.done():
            await asyncio.wait([sending], timeout=1.0)
            waiting = self.ledger.outstanding()
            if time.time() > self.deadline:
                self.problems.append(f"the run reached its time limit with {len(waiting)} messages unanswered")
                self.cut_short = True
                return
            if waiting and time.time() - self.ledger.last_progress > self.stall:
                self.problems.append(f"no answer for {self.stall:.0f} s while {len(waiting)} messages waited")
                self.cut_short = True
                return
        sending.result()  # a sender's own exception is a bug of the harness: raise it

    async def _watch_workers(self) -> None:
        while True:
            self.fleet.notice_ready()
            await asyncio.sleep(0.2)

    async def _kill(self, every: float) -> None:
        """Every `every` seconds, SIGKILL a random worker and start another at once."""
        while True:
            await asyncio.sleep(every)
            victim = self.fleet.pick_worker(self.rng)
            if victim is None:
                continue
            held = await asyncio.to_thread(self._held, victim.pid)
            waiting = self.ledger.outstanding()
            ready_left = sum(p.base_cpu is not None for p in self.fleet.alive("worker") if p is not victim)
            self.fleet.kill(victim)
            assert victim.killed_at is not None
            self.kills.append(checks.Kill(victim.killed_at, waiting, held, ready_left))

    def _held(self, pid: int) -> set[int] | None:
        """The chats a worker holds a claim on, None when that cannot be seen."""
        try:
            keys = checks.claimed_by(self.engine, pid)
        except Exception:  # noqa: BLE001 - the database restarting: not known
            return None
        return {self.claim_keys[k] for k in keys if k in self.claim_keys} if keys else None

    async def _restart(self, at: float) -> None:
        """Stop PostgreSQL cleanly at `at`, and start it again at once."""
        await asyncio.sleep(max(0.0, at - time.time()))
        stopped = time.time()
        await asyncio.to_thread(self.pg.stop)
        await asyncio.to_thread(self.pg.start)
        self.restarts.append((stopped, time.time()))

    async def _drain(self) -> None:
        """Wait until nothing waits in the tables and the fake heard nothing new for QUIET seconds."""
        limit = min(self.deadline, time.time() + max(self.stall, 30.0))
        seen, since = -1, time.time()
        while time.time() < limit:
            if len(self.ledger.arrivals) != seen:
                seen, since = len(self.ledger.arrivals), time.time()
            elif time.time() - since >= QUIET and not await self._waiting():
                return
            await asyncio.sleep(0.5)
        if not self.cut_short and await self._waiting():
            self.problems.append("the tables did not drain: events or messages still waited at the end")

    async def _waiting(self) -> int:
        return await asyncio.to_thread(self._count_waiting)

    def _count_waiting(self) -> int:
        try:
            return checks.waiting_rows(self.engine)
        except Exception:  # noqa: BLE001 - the database restarting: ask again
            return 1


def _cpu(figures: dict[str, Any], fleet: Fleet) -> dict[str, Any]:
    """CPU seconds per answered message by kind of process, turns a second, and a worker's start."""
    turns = max(1, figures["answered"])
    kinds = {
        "hook": fleet.cpu("hook"),
        "worker": fleet.cpu("worker"),
        "db": figures["cpu_db_s"],
        "load": figures["cpu_load_s"],
    }
    wall = figures["wall_s"]
    return {f"cpu_{kind}_per_turn": spent / turns for kind, spent in kinds.items()} | {
        "turns_per_s": figures["answered"] / wall if wall > 0 else 0.0,
        "worker_start_cpu_s": fleet.start_cpu(),
    }


FULL = {"chats": 2000, "messages": 20_000}
QUICK = {"chats": 100, "messages": 1000}
OPEN_SECONDS = 60  # the open-loop run sends for about this long …
OPEN_PER_CHAT = 5  # … each chat this many messages, far enough apart for the 1 s pace


def main(quick: bool = False) -> list[dict[str, Any]]:
    """PostgreSQL with 1, 2 and 4 workers (kills every 3 s with several), PostgreSQL at half the best
    rate in open loop (steady, then with kills every 3 s), and SQLite with one worker; one line each,
    then the capacity estimate."""
    size = QUICK if quick else FULL
    results = []
    for workers in (1, 2, 4):
        kill = 3.0 if workers > 1 else None
        results.append(_show(run(database="postgres", workers=workers, hooks=2, kill_every=kill, **size)))
    best = max(results, key=lambda r: (not r["problems"], r["turns_per_s"]))
    half = best["turns_per_s"] / 2
    if half > 0:
        chats = max(1, round(half * OPEN_SECONDS / OPEN_PER_CHAT))
        results.append(
            _show(
                run(
                    database="postgres",
                    workers=best["workers"],
                    hooks=2,
                    chats=chats,
                    messages=chats * OPEN_PER_CHAT,
                    kill_every=None,  # the latency of a steady load; the kills are measured above
                    rate=half,
                )
            )
        )
        results.append(  # takeover where it is not buried under a backlog: the same load, workers killed
            _show(
                run(
                    database="postgres",
                    workers=max(2, best["workers"]),
                    hooks=2,
                    chats=chats,
                    messages=chats * OPEN_PER_CHAT,
                    kill_every=3.0,
                    rate=half,
                )
            )
        )
    results.append(_show(run(database="sqlite", workers=1, hooks=1, kill_every=None, **size)))
    print(capacity(results))
    return results


def _show(r: dict[str, Any]) -> dict[str, Any]:
    print(line(r), flush=True)
    for problem in r["problems"]:
        print(f"    problem: {problem}")
    for error in r["errors_logged"][:5]:
        print(f"    logged: {error}")
    return r


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def line(r: dict[str, Any]) -> str:
    """One run in one line."""
    db = "PG" if r["database"] == "postgres" else "SQLite"
    # a closed loop cannot go faster than its people: each waits GAP seconds after an answer
    how = f"open loop at {r['rate']:.0f}/s" if r["rate"] else f"closed loop (at most {r['chats'] / GAP:.0f}/s)"
    kills = f", kill -9 every {r['kill_every']:g} s" if r["kill_every"] else ""
    restart = f", PG restarted at {r['restart_db_at']:g} s" if r["restart_db_at"] is not None else ""
    head = f"{db} {r['hooks']} hooks {r['workers']} workers, {r['messages']} msgs / {r['chats']} chats, {how}"
    take = ""
    if r["kills"]:
        backlog = " (most of it the backlog's wait)" if r["p50_ms"] > 5000 else ""
        take = (
            f"; {r['kills']} kills, takeover max {_seconds(r['takeover_max_s'])}, median "
            f"{_seconds(r['takeover_median_s'])}{backlog}; of the killed worker's own chats (about "
            f"{r['held_chats_per_kill'] or 0:.0f} a kill) max {_seconds(r['held_takeover_max_s'])}, median "
            f"{_seconds(r['held_takeover_median_s'])} (where another worker was ready: max "
            f"{_seconds(r['ready_takeover_max_s'])}, median {_seconds(r['ready_takeover_median_s'])}); "
            f"{r['kills_leaving_none_ready']} kills left no worker ready; "
            f"a worker's start {_seconds(r['worker_start_cpu_s'])} CPU"
        )
    cpu = ", ".join(
        f"{name} {r[f'cpu_{kind}_per_turn'] * 1000:.1f}"
        for kind, name in (("hook", "hooks"), ("worker", "workers"), ("db", "PG"), ("load", "fake+load"))
        if r["database"] == "postgres" or kind != "db"
    )
    sessions = f"; {r['db_sessions']} PG connections opened" if r.get("db_sessions") is not None else ""
    verdict = "ok" if not r["problems"] else f"{len(r['problems'])} PROBLEMS"
    return (
        f"{head}{kills}{restart}: {r['turns_per_s']:.0f} turns/s; p50 {r['p50_ms']:.0f} / p95 {r['p95_ms']:.0f} / "
        f"p99 {r['p99_ms']:.0f} / max {r['max_ms']:.0f} ms (webhook's 200: p50 {r['hook_p50_ms']:.0f}, p99 "
        f"{r['hook_p99_ms']:.0f} ms){take}; resent {r['resent']}; CPU ms/turn: {cpu}{sessions}; {verdict}"
    )


def capacity(results: list[dict[str, Any]]) -> str:
    """Turns a second 8 and 32 cores could carry if nothing but CPU limited them, from the CPU seconds
    a turn took (webhooks, workers and PostgreSQL; the fake Telegram and the load excluded) in the
    steady PostgreSQL run with the most workers: no kills (a worker started every few seconds is not
    what a deployment pays per turn), no restart, closed loop (the open loop idles)."""
    steady = [
        r
        for r in results
        if r["database"] == "postgres" and not r["rate"] and not r["kills"] and not r["restarts"] and r["answered"]
    ]
    if not steady:
        return "capacity: no steady PostgreSQL run to estimate it from"
    r = max(steady, key=lambda r: r["workers"])
    per_turn = r["cpu_hook_per_turn"] + r["cpu_worker_per_turn"] + r["cpu_db_per_turn"]
    return (
        f"capacity if CPU-bound (the {r['workers']}-worker PG run without kills: {per_turn * 1000:.1f} ms CPU a turn): "
        f"8 cores ≈ {8 / per_turn:.0f} turns/s, 32 cores ≈ {32 / per_turn:.0f} turns/s"
    )


if __name__ == "__main__":
    import argparse
    import logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"small sizes: {QUICK}")
    logging.disable(logging.WARNING)
    main(quick=parser.parse_args().quick)

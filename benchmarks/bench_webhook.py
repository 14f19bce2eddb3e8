"""Chatloom's Telegram webhook against a plain Starlette endpoint, and turns per second end to end.

Both servers run as their own uvicorn processes on 127.0.0.1 (one worker each); a bounded async
client in this process posts Telegram updates with CONCURRENCY requests in flight:

- plain: a Starlette route that reads the body, parses the JSON and answers `{"ok": true}`;
- Chatloom: `POST /hooks/telegram/bench` of a real `chatloom serve --no-worker` (verify the secret
  token, parse, store the event once, acknowledge; the flows run in a separate worker).

Both servers are pinned to one core, the load generator and the fake platform to the others, so
that the two endpoints get the same CPU and nothing else competes with them. (Run in one process
with the flows, the webhook shares the process with the worker: the worker takes about a quarter
of its time while webhooks wait, see runtime/channels/service.py.)

`python -m benchmarks.bench_webhook postgres` measures the webhook on a private PostgreSQL cluster
instead: its server processes run on the webhook's core (as SQLite runs inside the webhook's
process), and a `chatloom worker` on the other core handles the events while the webhook is loaded.

The rates and the p99 time to the acknowledgement are measured in interleaved rounds; the best
round of each is kept. End to end: the load's events are set aside, a `chatloom worker` starts,
each of E2E_CHATS new chats sends /start, and the clock runs until the fake Telegram (tests/fakes)
has accepted every first question (webhook in, flow step, message out through the outbox), SQLite
in a temporary folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:BENCH-token"
SECRET = "bench-secret-token"
CONCURRENCY = 16
REQUESTS = 1500
ROUNDS = 3
E2E_CHATS = 300
PLAIN_APP = """
import json, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def hook(request):
    json.loads(await request.body())
    return JSONResponse({"ok": True})

app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
"""


def _cores() -> tuple[set[int], set[int]]:
    """The core the server under test runs on, and the others (load generator, fake platform)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return set(cores), set(cores)
    return {cores[-1]}, set(cores[:-1])


SERVER_CORES, LOAD_CORES = _cores()
_TASKSET = shutil.which("taskset")
_LOAD_CORE = [_TASKSET, "-c", ",".join(map(str, sorted(LOAD_CORES)))] if _TASKSET else []
_SERVER_CORE = [_TASKSET, "-c", ",".join(map(str, sorted(SERVER_CORES)))] if _TASKSET else []


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("a benchmark server stopped")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


async def _load(url: str, headers: dict[str, str], first: int, count: int) -> tuple[float, list[float]]:
    """Post `count` updates with CONCURRENCY in flight: requests a second, and each one's time."""
    from tests.channels.conftest import text_update  # the update the channel tests send

    times: list[float] = []
    queue = iter(range(first, first + count))
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=CONCURRENCY)) as client:

        async def worker() -> None:
            for n in queue:
                body = json.dumps(text_update(n, "/start", chat=1_000_000 + n)).encode()
                t0 = time.perf_counter()
                answer = await client.post(url, content=body, headers=headers)
                times.append(time.perf_counter() - t0)
                if answer.status_code != 200:
                    raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return count / (time.perf_counter() - started), times


WRK_SCRIPT = """
local n = 0
local id = 0
setup = function(thread) id = id + 1; thread:set("base", BASE + id * 10000000) end
request = function()
  n = n + 1
  local u = base + n
  local body = string.format('{"update_id": %d, "message": {"message_id": %d, "date": 1700000000, '
    .. '"chat": {"id": %d, "type": "private"}, "from": {"id": %d, "is_bot": false, "first_name": "Load"}, '
    .. '"text": "/start"}}', u, u, u, u)
  return wrk.format("POST", nil, HEADERS, body)
end
"""


def _wrk(url: str, headers: dict[str, str], base: int, seconds: int = 4) -> tuple[float, float]:
    """wrk with 2 threads and CONCURRENCY connections: requests a second and p99 milliseconds."""
    lua = WRK_SCRIPT.replace("BASE", str(base)).replace(
        "HEADERS", "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(
        [*_LOAD_CORE, "wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", "-s", f.name, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))
    p99 = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("99%"))
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} refused requests under load: {out}")
    return rps, _ms(p99)


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def _p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98] * 1000


def main(database: str = "sqlite") -> dict[str, float]:
    """SQLite in a data folder (the default install), or a private PostgreSQL cluster with a
    `chatloom worker` handling the events while the webhook is loaded."""
    sys.path.insert(0, str(ROOT))
    everywhere = os.sched_getaffinity(0)
    os.sched_setaffinity(0, LOAD_CORES)  # the fake platform and the client: away from the server
    try:
        if database == "sqlite":
            return _measure(everywhere, None)
        from tests.fakes.postgres import private_postgres

        with private_postgres() as pg:
            postmaster = pg.postmaster()
            if postmaster is not None:  # its backends are forked from it: on the server's core, like
                os.sched_setaffinity(postmaster, SERVER_CORES)  # SQLite inside the server process
            return _measure(everywhere, pg.url)
    finally:
        os.sched_setaffinity(0, everywhere)


def _measure(everywhere: set[int], database_url: str | None) -> dict[str, float]:
    from tests.channels.conftest import GREETER  # the flow the channel tests talk to
    from tests.fakes.server import running
    from tests.fakes.telegram import FakeTelegram

    folder = Path(tempfile.mkdtemp(prefix="chatloom-bench-hook-"))
    data = folder / "data"
    (folder / "greeter.json").write_text(json.dumps(GREETER))
    env = {**os.environ, "CHATLOOM_DATA": str(data), "TELEGRAM_BOT_TOKEN": TOKEN}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    procs: list[subprocess.Popen[bytes]] = []
    worker = [sys.executable, "-m", "chatloom", "worker"]
    with running(FakeTelegram(TOKEN)) as fake:
        try:
            for args in (
                ["import", str(folder / "greeter.json"), "--publish"],
                ["deploy", "telegram", "bench", "greeter", "--api-base", fake.url],
            ):
                subprocess.run(
                    [sys.executable, "-m", "chatloom", *args], env=env, check=True, capture_output=True, cwd=ROOT
                )
            from flows.db import make_engine
            from runtime.channels.secretbox import SecretBox
            from runtime.channels.store import INBOX, ChannelStore

            engine = make_engine(database_url or f"sqlite:///{data / 'chatloom.db'}")
            store = ChannelStore(engine, SecretBox.for_data_folder(data))
            secret = store.deployment("telegram", "bench").credentials["secret_token"]  # type: ignore[union-attr]
            plain_port, loom_port = _port(), _port()
            procs.append(
                subprocess.Popen(
                    [*_SERVER_CORE, sys.executable, "-c", PLAIN_APP.replace("PORT", str(plain_port))], cwd=ROOT
                )
            )
            procs.append(
                subprocess.Popen(
                    [
                        *_SERVER_CORE,
                        sys.executable,
                        "-m",
                        "chatloom",
                        "serve",
                        "--no-examples",
                        "--port",
                        str(loom_port),
                        "--no-worker",  # the webhook alone; the flows run in a worker started below
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            plain_url, loom_url = (
                f"http://127.0.0.1:{plain_port}/hook",
                f"http://127.0.0.1:{loom_port}/hooks/telegram/bench",
            )
            _wait(f"http://127.0.0.1:{plain_port}/", procs[0])
            _wait(f"http://127.0.0.1:{loom_port}/health", procs[-1])
            if database_url:  # workers running: they handle the events while the webhook is loaded
                procs.append(subprocess.Popen([*_LOAD_CORE, *worker], env=env, cwd=ROOT, stdout=subprocess.DEVNULL))
            headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret}
            asyncio.run(_load(plain_url, headers, 1, 200))  # warm both up
            asyncio.run(_load(loom_url, headers, 10_000_000, 200))

            def set_aside() -> None:  # the load's events are not flows to run (and would fill the backlog)
                with engine.begin() as c:
                    c.execute(INBOX.update().where(INBOX.c.status == "new").values(status="done"))

            plain_best, loom_best, generator = _rounds(plain_url, loom_url, headers, set_aside)
            set_aside()
            if not database_url:
                procs.append(subprocess.Popen(worker, env=env, cwd=ROOT, stdout=subprocess.DEVNULL))
            os.sched_setaffinity(0, everywhere)  # end to end, the fake platform may use any core
            e2e = _end_to_end(fake, loom_url, headers)
            engine.dispose()
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    return {
        "plain_rps": plain_best[0],
        "hook_rps": loom_best[0],
        "ratio": loom_best[0] / plain_best[0],
        "plain_p99_ms": plain_best[1],
        "hook_p99_ms": loom_best[1],
        "generator": generator,  # type: ignore[dict-item]
        "database": "PostgreSQL" if database_url else "SQLite",  # type: ignore[dict-item]
        "e2e_turns_per_s": e2e,
    }


def _rounds(plain_url: str, loom_url: str, headers: dict[str, str], set_aside: Any) -> tuple[Any, Any, str]:
    """ROUNDS interleaved rounds on each endpoint: the best (requests a second, p99 ms) of each.
    Before each of Chatloom's, the events stored so far are set aside: far behind, the webhook
    refuses more (back-pressure), which is not what is measured here."""
    from runtime.channels.inbox import BACKLOG_EVERY  # how often the webhook counts the backlog again

    plain_best, loom_best = (0.0, 0.0), (0.0, 0.0)
    generator = "wrk" if shutil.which("wrk") else "a Python client (install wrk for truer figures)"
    for r in range(ROUNDS):
        set_aside()
        time.sleep(BACKLOG_EVERY + 0.5)
        if shutil.which("wrk"):
            p, c = (
                _wrk(plain_url, headers, 100_000_000 * (r + 1)),
                _wrk(loom_url, headers, 100_000_000 * (r + 1)),
            )
        else:
            rate, times = asyncio.run(_load(plain_url, headers, 1, REQUESTS))
            p = (rate, _p99(times))
            rate, times = asyncio.run(_load(loom_url, headers, 20_000_000 + r * REQUESTS, REQUESTS))
            c = (rate, _p99(times))
        plain_best = max(plain_best, p)
        loom_best = max(loom_best, c)
    return plain_best, loom_best, generator


def _end_to_end(fake: Any, url: str, headers: dict[str, str]) -> float:
    """Turns a second from E2E_CHATS new chats' /start to their first question accepted by the fake."""
    _drain(fake)  # what the load left is sent first, so it does not compete with the timed chats
    before = len(fake.sent)
    started = time.perf_counter()
    asyncio.run(_load(url, headers, 90_000_000, E2E_CHATS))
    deadline = time.monotonic() + 300
    while len(fake.sent) < before + E2E_CHATS and time.monotonic() < deadline:
        time.sleep(0.02)
    return (len(fake.sent) - before) / (time.perf_counter() - started)


def _drain(fake: Any) -> None:
    """Wait until the worker has sent what the load left (so it does not compete with the timed chats)."""
    last, still = -1, 0
    deadline = time.monotonic() + 600
    while still < 10 and time.monotonic() < deadline:
        now = len(fake.sent)
        still = still + 1 if now == last else 0
        last = now
        time.sleep(0.2)


if __name__ == "__main__":
    result = main(sys.argv[1] if len(sys.argv) > 1 else "sqlite")
    print(f"plain Starlette: {result['plain_rps']:.0f} req/s, p99 {result['plain_p99_ms']:.1f} ms")
    print(
        f"Chatloom webhook: {result['hook_rps']:.0f} req/s ({result['ratio']:.0%}), p99 {result['hook_p99_ms']:.1f} ms"
    )
    print(
        f"end to end: {result['e2e_turns_per_s']:.0f} turns/s on {result['database']}; load from {result['generator']}"
    )

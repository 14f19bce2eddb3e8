"""Hostile flows against a running server: does one flow's payload hold everybody else up?

A real `chatloom run` gets three published flows that carry the payloads of issue 13 (a
catastrophic regular expression against a visitor's answer, loops nested 10,000 by 10,000, a
text multiplied to 100 million characters and a loop printing a long answer 10,000 times) and one
harmless flow. Measured in one run, on this machine:
- each payload answered alone, through the HTTP API (the refusal included), against the harmless
  flow's answer time: the baseline;
- 20 conversations sending payloads at once, round after round, while /health is polled: its p99
  and the answers' p95 against the same traffic on the harmless flow, just before (the baseline);
- the server's resident memory before the attack and after it.
A payload that validation refuses (`'x'|center(200000000)`) is also tried: it never gets published.

`python -m benchmarks.bench_attack`
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.bench_canvas import OWNER, ROOT, running_server

CONVERSATIONS = 20
ROUNDS = 5
HEALTH_EVERY_S = 0.005
ANSWER = "a" * 4000 + "!"  # at most 4,096 characters come through the API

NESTED = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
PAYLOADS: dict[str, dict[str, Any]] = {
    "redos": {
        "type": "logic.condition",
        "settings": {
            "branches": [
                {"port": "yes", "rules": [{"left": "{{ answer }}", "op": "matches_regex", "right": "^(a+)+$"}]}
            ]
        },
        "ports": ["yes", "else"],
    },
    "loops": {"type": "message.send", "settings": {"text": NESTED}, "ports": ["out"]},
    "huge": {"type": "message.send", "settings": {"text": "{{ answer * 100000000 }}"}, "ports": ["out"]},
    "printing": {
        "type": "message.send",
        "settings": {"text": "{% for i in range(10000) %}{{ answer }}{% endfor %}"},
        "ports": ["out"],
    },
    "harmless": {
        "type": "message.send",
        "settings": {"text": "Thanks, {{ answer | length }} characters."},
        "ports": ["out"],
    },
}
REFUSED_AT_VALIDATION = {
    "type": "message.send",
    "settings": {"text": "{{ 'x' | center(200000000) }}"},
    "ports": ["out"],
}


def _flow(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    nodes = [
        {"id": "start", "type": "flow.start", "version": 1, "settings": {}, "ui": {"x": 0, "y": 0}},
        {
            "id": "ask",
            "type": "input.text",
            "version": 1,
            "settings": {"prompt": "Go", "save_as": "answer", "max_length": 4096},
            "ui": {"x": 240, "y": 0},
        },
        {
            "id": "payload",
            "type": payload["type"],
            "version": 1,
            "settings": payload["settings"],
            "ui": {"x": 480, "y": 0},
        },
        {"id": "end", "type": "flow.end", "version": 1, "settings": {}, "ui": {"x": 720, "y": 0}},
    ]
    edges = [
        {"id": "e1", "source": "start", "source_port": "out", "target": "ask", "target_port": "in"},
        {"id": "e2", "source": "ask", "source_port": "valid", "target": "payload", "target_port": "in"},
    ] + [
        {"id": f"e-{port}", "source": "payload", "source_port": port, "target": "end", "target_port": "in"}
        for port in payload["ports"]
    ]
    return {"schema_version": 1, "id": name, "name": name, "start": "start", "nodes": nodes, "edges": edges}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatloom", *args], env=env, capture_output=True, text=True, cwd=ROOT, check=False
    )


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _server_pid(port: int) -> int:
    """The process listening on `port` (the server running_server started)."""
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
            inode = fields[9]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]" for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
        except OSError:
            continue
    raise RuntimeError("the server's process was not found")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _conversation(client: httpx.AsyncClient, flow: str) -> float:
    """Start a conversation on `flow`, send the answer; seconds the answer took (the refusal included)."""
    started = await client.post(f"/api/flows/{flow}/conversations", json={})
    cid = started.json()["conversation_id"]
    t = time.perf_counter()
    answered = await client.post(f"/api/conversations/{cid}/messages", json={"text": ANSWER})
    took = time.perf_counter() - t
    answered.raise_for_status()
    return took


def _poll_health(url: str, seconds: float) -> list[float]:
    """/health answer times for `seconds`, from a process of its own: the load's client shares
    nothing with it, so its times are the server's."""
    times: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t = time.perf_counter()
            client.get("/health").raise_for_status()
            times.append(time.perf_counter() - t)
            time.sleep(HEALTH_EVERY_S)
    return times


async def _polled(url: str, seconds: float, pool: ProcessPoolExecutor) -> list[float]:
    return await asyncio.get_running_loop().run_in_executor(pool, _poll_health, url, seconds)


async def _burst(client: httpx.AsyncClient, flows: list[str], seconds: float, conversations: int) -> list[float]:
    """`conversations` at once on `flows`, again and again for `seconds`, as fast as the server answers."""
    answers: list[float] = []
    end = time.perf_counter() + seconds
    while not answers or time.perf_counter() < end:
        names = [flows[i % len(flows)] for i in range(conversations)]
        answers += await asyncio.gather(*(_conversation(client, n) for n in names))
    return answers


async def _paced(client: httpx.AsyncClient, flows: list[str], seconds: int, conversations: int) -> list[float]:
    """`conversations` running side by side, each sending one payload a second (spread over the second)."""
    start = time.perf_counter() + 0.2

    async def one(i: int) -> list[float]:
        took = []
        for k in range(seconds):
            await asyncio.sleep(max(0.0, start + k + i / conversations - time.perf_counter()))
            took.append(await _conversation(client, flows[i % len(flows)]))
        return took

    return [t for many in await asyncio.gather(*(one(i) for i in range(conversations))) for t in many]


async def _measure(url: str, token: str, rounds: int, conversations: int) -> dict[str, float]:
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=conversations + 4)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as client:
        for name in PAYLOADS:  # warm: plans compiled, templates cached
            await _conversation(client, name)
        alone = {name: [await _conversation(client, name) for _ in range(2 * rounds)] for name in PAYLOADS}
        hostile = [n for n in PAYLOADS if n != "harmless"]
        with ProcessPoolExecutor(1) as pool:
            idle = await _polled(url, 2, pool)
            # a burst: every conversation at once, as fast as the server answers (it is saturated)
            busy, busy_answers = await asyncio.gather(
                _polled(url, rounds, pool), _burst(client, ["harmless"], rounds, conversations)
            )
            attacked, under_attack = await asyncio.gather(
                _polled(url, rounds, pool), _burst(client, hostile, rounds, conversations)
            )
            # paced: the same conversations side by side, each sending once a second
            paced_busy, _ = await asyncio.gather(
                _polled(url, rounds, pool), _paced(client, ["harmless"], rounds, conversations)
            )
            paced_attacked, paced_answers = await asyncio.gather(
                _polled(url, rounds, pool), _paced(client, hostile, rounds, conversations)
            )
    out: dict[str, float] = {f"{n}_alone_p95_ms": _pct(v, 0.95) * 1000 for n, v in alone.items()}
    out.update({f"{n}_alone_max_ms": max(v) * 1000 for n, v in alone.items()})
    worst = max(out[f"{n}_alone_p95_ms"] for n in hostile)
    out["worst_alone_p95_ms"] = worst
    out["worst_alone_ratio"] = worst / out["harmless_alone_p95_ms"]
    out["attack_answer_p95_ms"] = _pct(under_attack, 0.95) * 1000
    out["health_idle_p99_ms"] = _pct(idle, 0.99) * 1000
    out["health_attack_p99_ms"] = _pct(attacked, 0.99) * 1000
    out["health_attack_p50_ms"] = statistics.median(attacked) * 1000
    out["health_busy_p99_ms"] = _pct(busy, 0.99) * 1000
    out["busy_answer_p95_ms"] = _pct(busy_answers, 0.95) * 1000
    out["health_ratio"] = out["health_attack_p99_ms"] / out["health_busy_p99_ms"]
    out["paced_health_attack_p99_ms"] = _pct(paced_attacked, 0.99) * 1000
    out["paced_health_busy_p99_ms"] = _pct(paced_busy, 0.99) * 1000
    out["paced_health_ratio"] = out["paced_health_attack_p99_ms"] / out["paced_health_busy_p99_ms"]
    out["paced_answer_p95_ms"] = _pct(paced_answers, 0.95) * 1000
    out["answer_ratio"] = out["attack_answer_p95_ms"] / out["busy_answer_p95_ms"]
    out["health_polls"] = len(attacked) + len(paced_attacked)
    out["attack_messages"] = len(under_attack)
    return out


def main(rounds: int = ROUNDS, conversations: int = CONVERSATIONS) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="chatloom-attack-") as folder:
        data = Path(folder) / "data"
        env = {**os.environ, "CHATLOOM_DATA": str(data)}
        env.pop("DATABASE_URL", None)
        with running_server(data, env) as url:
            flows = Path(folder) / "flows"
            flows.mkdir()
            for name, payload in PAYLOADS.items():
                path = flows / f"{name}.json"
                path.write_text(json.dumps(_flow(name, payload)))
                done = _cli(env, "import", str(path), "--publish")
                if done.returncode:
                    raise RuntimeError(f"{name} was not published: {done.stderr}")
            refused = flows / "refused.json"
            refused.write_text(json.dumps(_flow("refused", REFUSED_AT_VALIDATION)))
            validation = _cli(env, "import", str(refused), "--publish")
            token = _cli(env, "tokens", "create", "--email", OWNER, "--name", "bench", "--scope", "chat").stdout.strip()
            pid = _server_pid(int(url.rsplit(":", 1)[1]))
            rss_before = _rss_mb(pid)
            found = asyncio.run(_measure(url, token, rounds, conversations))
            rss_after = _rss_mb(pid)
    found["rss_before_mb"] = rss_before
    found["rss_after_mb"] = rss_after
    found["rss_growth"] = rss_after / rss_before - 1
    found["refused_at_validation"] = float(validation.returncode != 0)
    return found


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value:.2f}")

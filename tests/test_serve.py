"""`chatloom serve` as a user starts it: examples published, the API answering, the order demo working."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def started(command: str, data: Path) -> Iterator[tuple[str, list[str]]]:
    """`chatloom COMMAND` on a free port: its base URL and its first five lines of output."""
    port = free_port()
    env = {**os.environ, "CHATLOOM_DATA": str(data)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatloom", command, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for _ in range(5):
            lines.append(proc.stdout.readline().rstrip())
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, lines
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    with started("serve", tmp_path_factory.mktemp("data")) as found:
        yield found


def test_run_serves_the_builder_beside_the_runtime(tmp_path: Path) -> None:
    with started("run", tmp_path) as (base, lines):
        assert lines[0] == f"Chatloom builder: open {base}/ in your browser"
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and "<title>Chatloom</title>" in page.text
        assert {f["id"] for f in httpx.get(f"{base}/api/flows").json()} >= {"lead-capture", "quiz"}
        assert (tmp_path / "builder-secret").stat().st_mode & 0o777 == 0o600


def test_the_first_lines_say_where_to_reach_it_and_how_to_chat(server: tuple[str, list[str]]) -> None:
    base, lines = server
    assert lines[0].startswith(f"Chatloom runtime on {base}")
    assert "lead-capture" in lines[1] and "order-status" in lines[1]
    assert f"curl -s -X POST {base}/api/flows/lead-capture/conversations" in lines[2]
    assert "chatloom chat flows/templates/" in lines[3]


def test_every_example_is_published(server: tuple[str, list[str]]) -> None:
    base, _ = server
    ids = {f["id"] for f in httpx.get(f"{base}/api/flows").json()}
    assert {"lead-capture", "faq-menu", "appointment-booking", "nps-survey", "quiz", "order-status"} <= ids


def test_order_status_looks_the_order_up_over_http(server: tuple[str, list[str]]) -> None:
    base, _ = server
    started = httpx.post(
        f"{base}/api/flows/order-status/conversations", json={"variables": {"orders_api": f"{base}/demo/orders"}}
    ).json()
    cid = started["conversation_id"]
    assert started["messages"][0]["text"] == "What's your order number? (it looks like A1234)"

    def say(text: str) -> list[str]:
        r = httpx.post(f"{base}/api/conversations/{cid}/messages", json={"text": text})
        assert r.status_code == 200, r.text
        return [m["text"] for m in r.json()["messages"]]

    assert say("12") == [
        "Order numbers are a letter and four digits, like A1234.",
        "What's your order number? (it looks like A1234)",
    ]
    assert say("Z9999") == ["I couldn't find order Z9999. Try another number?"]
    assert say("yes") == ["What's your order number? (it looks like A1234)"]
    assert say("a1001") == ["Order A1001 is on its way with Parcelway; it should arrive in 2 days."]
    state = httpx.get(f"{base}/api/conversations/{cid}").json()
    assert state["status"] == "ended" and state["variables"]["status"] == "shipped"


def test_a_wait_started_before_a_restart_finishes_after_it(tmp_path: Path) -> None:
    flow = {
        "id": "nap",
        "name": "Nap",
        "start": "s",
        "nodes": [
            {"id": "s", "type": "flow.start"},
            {"id": "w", "type": "flow.wait", "settings": {"amount": 3, "unit": "seconds", "message": "Back soon."}},
            {"id": "e", "type": "flow.end", "settings": {"message": "I'm back."}},
        ],
        "edges": [{"id": "a", "source": "s", "target": "w"}, {"id": "b", "source": "w", "target": "e"}],
    }
    path = tmp_path / "nap.json"
    path.write_text(json.dumps(flow))
    env = {**os.environ, "CHATLOOM_DATA": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "chatloom", "import", str(path), "--publish"], env=env, check=True)
    with started("serve", tmp_path) as (base, _):
        cid = httpx.post(f"{base}/api/flows/nap/conversations", json={}).json()["conversation_id"]
    # the server process has stopped before the wait was over; a new one takes the stored timer
    with started("serve", tmp_path) as (base, _):
        for _ in range(100):
            texts = [m["text"] for m in httpx.get(f"{base}/api/conversations/{cid}/messages").json()["messages"]]
            if texts[-1] == "I'm back.":
                break
            time.sleep(0.1)
        assert texts == ["Back soon.", "I'm back."]

"""A real `chatloom serve` process answering Telegram: the worker handles webhooks on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from flows.db import make_engine
from runtime.channels.secretbox import SecretBox
from runtime.channels.store import ChannelStore
from tests.channels.conftest import GREETER, TOKEN, text_update
from tests.fakes.telegram import FakeTelegram
from tests.test_serve import started


def _wait_for(check, seconds: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_served_bot_answers_and_continues_after_a_restart(tmp_path: Path, fake: FakeTelegram) -> None:
    data = tmp_path / "data"
    flow = tmp_path / "greeter.json"
    flow.write_text(json.dumps(GREETER))
    env_run = {"CHATLOOM_DATA": str(data), "TELEGRAM_BOT_TOKEN": TOKEN}
    for args in (
        ["import", str(flow), "--publish"],
        ["deploy", "telegram", "mybot", "greeter", "--api-base", fake.url],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "chatloom", *args], env={**__import__("os").environ, **env_run},
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    engine = make_engine(f"sqlite:///{data / 'chatloom.db'}")
    deployment = ChannelStore(engine, SecretBox.for_data_folder(data)).deployment("telegram", "mybot")
    engine.dispose()
    assert deployment is not None
    headers = {"X-Telegram-Bot-Api-Secret-Token": deployment.credentials["secret_token"]}

    with started("serve", data) as (base, _):
        answer = httpx.post(f"{base}/hooks/telegram/mybot", json=text_update(1, "/start"), headers=headers)
        assert answer.status_code == 200
        assert _wait_for(lambda: fake.texts() == ["What is your name?"])
    with started("serve", data) as (base, _):  # a new process: the conversation goes on
        httpx.post(f"{base}/hooks/telegram/mybot", json=text_update(2, "Ada"), headers=headers)
        assert _wait_for(lambda: fake.texts()[-1:] == ["Nice to meet you, Ada!"])
    assert fake.texts() == ["What is your name?", "Nice to meet you, Ada!"]


def test_webhooks_and_worker_in_two_processes(tmp_path: Path, fake: FakeTelegram) -> None:
    import os

    data = tmp_path / "data"
    flow = tmp_path / "greeter.json"
    flow.write_text(json.dumps(GREETER))
    env = {**os.environ, "CHATLOOM_DATA": str(data), "TELEGRAM_BOT_TOKEN": TOKEN}
    env.pop("DATABASE_URL", None)
    for args in (
        ["import", str(flow), "--publish"],
        ["deploy", "telegram", "mybot", "greeter", "--api-base", fake.url],
    ):
        assert (
            subprocess.run(
                [sys.executable, "-m", "chatloom", *args], env=env, capture_output=True, check=False
            ).returncode
            == 0
        )
    engine = make_engine(f"sqlite:///{data / 'chatloom.db'}")
    secret = (
        ChannelStore(engine, SecretBox.for_data_folder(data))
        .deployment("telegram", "mybot")
        .credentials["secret_token"]
    )  # type: ignore[union-attr]
    engine.dispose()
    port = __import__("tests.test_serve", fromlist=["free_port"]).free_port()
    hooks = subprocess.Popen(
        [sys.executable, "-m", "chatloom", "serve", "--no-examples", "--no-worker", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    worker = None
    try:
        assert _wait_for(lambda: _answers(f"http://127.0.0.1:{port}/health"))
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        assert (
            httpx.post(
                f"http://127.0.0.1:{port}/hooks/telegram/mybot", json=text_update(1, "/start"), headers=headers
            ).status_code
            == 200
        )
        time.sleep(1)
        assert fake.sent == []  # acknowledged and stored; nobody handles it yet
        worker = subprocess.Popen(
            [sys.executable, "-m", "chatloom", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        assert _wait_for(lambda: fake.texts() == ["What is your name?"])
    finally:
        for proc in (hooks, worker):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False

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
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def started(command: str, data: Path) -> Iterator[tuple[str, list[str]]]:
    """`chatloom COMMAND` on a free port: its base URL and its first six lines of output."""
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
        for _ in range(6):
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


def chatloom(data: Path, *args: str) -> str:
    """Run a `chatloom` command on this data folder; what it printed."""
    env = {**os.environ, "CHATLOOM_DATA": str(data), "CHATLOOM_OWNER_PASSWORD": PASSWORD}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "chatloom", *args], check=False, env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def token_for(data: Path) -> dict[str, str]:
    """An owner made on the command line, and an API token of theirs that may chat and list flows."""
    chatloom(data, "users", "create-owner", "--email", "owner@example.com")
    text = chatloom(data, "tokens", "create", "--email", "owner@example.com", "--name", "tests",
                    "--scope", "chat", "--scope", "flows.read").strip()  # fmt: skip
    assert text.startswith("clt_")
    return {"authorization": f"Bearer {text}"}


def test_accounts_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    headers = token_for(tmp_path)
    listed = chatloom(tmp_path, "users", "list")
    assert listed.strip() == "owner@example.com\towner"
    tokens = chatloom(tmp_path, "tokens", "list")
    token_id = headers["authorization"].split("_")[1]
    assert token_id in tokens and "chat flows.read" in tokens and headers["authorization"][7:] not in tokens
    assert chatloom(tmp_path, "users", "reset-password", "--email", "owner@example.com").startswith("The password of")
    assert f"Revoked {token_id}." in chatloom(tmp_path, "tokens", "revoke", token_id)
    from flows.db import make_engine
    from runtime.audit import CLI, AuditLog

    engine = make_engine(f"sqlite:///{tmp_path / 'chatloom.db'}")
    actions = [(e.actor, e.action) for e in AuditLog(engine).entries()]
    engine.dispose()
    assert actions == [(CLI, "token.revoke"), (CLI, "account.reset_password"), (CLI, "token.create"),
                       (CLI, "account.create_owner")]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str], dict[str, str]]]:
    data = tmp_path_factory.mktemp("data")
    headers = token_for(data)
    with started("serve", data) as (base, lines):
        yield base, lines, headers


def test_run_serves_the_builder_beside_the_runtime(tmp_path: Path) -> None:
    with started("run", tmp_path) as (base, lines):
        # a fresh server: the set-up link first, and nothing but the sign-in and set-up pages open
        assert lines[0].startswith(f"First run: create the owner account at {base}/setup?code=")
        assert lines[1] == f"Chatloom builder: open {base}/ in your browser"
        assert httpx.get(f"{base}/api/flows").status_code == 401
        page = httpx.get(f"{base}/", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/"
        assert httpx.get(f"{base}/setup?code=wrong").status_code == 403
        link = lines[0].split(" at ", 1)[1]
        with httpx.Client(base_url=base, headers={"origin": base}) as browser:
            assert "Create the owner account" in browser.get(link).text
            code = link.split("code=", 1)[1]
            form = {"code": code, "email": "me@example.com", "password": PASSWORD, "again": PASSWORD}
            made = browser.post("/setup", data=form)
            assert made.status_code == 303 and "HttpOnly" in made.headers["set-cookie"]
            page = browser.get("/")
            assert page.status_code == 200 and "<title>Chatloom</title>" in page.text
            assert browser.get("/setup", params={"code": code}).status_code == 303  # once only
        assert (tmp_path / "builder-secret").stat().st_mode & 0o777 == 0o600


def test_the_first_lines_say_where_to_reach_it_and_how_to_chat(server: tuple[str, list[str], dict[str, str]]) -> None:
    base, lines, _ = server
    assert lines[0].startswith(f"Chatloom runtime on {base}")
    assert "lead-capture" in lines[1] and "order-status" in lines[1]
    assert "API token" in lines[2]
    assert f"curl -s -X POST {base}/api/flows/lead-capture/conversations" in lines[3]
    assert "chatloom chat flows/templates/" in lines[4]


def test_every_example_is_published(server: tuple[str, list[str], dict[str, str]]) -> None:
    base, _, headers = server
    ids = {f["id"] for f in httpx.get(f"{base}/api/flows", headers=headers).json()}
    assert {"lead-capture", "faq-menu", "appointment-booking", "nps-survey", "quiz", "order-status"} <= ids


def test_order_status_looks_the_order_up_over_http(server: tuple[str, list[str], dict[str, str]]) -> None:
    base, _, headers = server
    started = httpx.post(
        f"{base}/api/flows/order-status/conversations",
        json={"variables": {"orders_api": f"{base}/demo/orders"}},
        headers=headers,
    ).json()
    cid = started["conversation_id"]
    assert started["messages"][0]["text"] == "What's your order number? (it looks like A1234)"

    def say(text: str) -> list[str]:
        r = httpx.post(f"{base}/api/conversations/{cid}/messages", json={"text": text}, headers=headers)
        assert r.status_code == 200, r.text
        return [m["text"] for m in r.json()["messages"]]

    assert say("12") == [
        "Order numbers are a letter and four digits, like A1234.",
        "What's your order number? (it looks like A1234)",
    ]
    assert say("Z9999") == ["I couldn't find order Z9999. Try another number?"]
    assert say("yes") == ["What's your order number? (it looks like A1234)"]
    assert say("a1001") == ["Order A1001 is on its way with Parcelway; it should arrive in 2 days."]
    state = httpx.get(f"{base}/api/conversations/{cid}", headers=headers).json()
    assert state["status"] == "ended" and state["variables"]["status"] == "shipped"


def test_a_flow_reaches_only_the_demo_api_of_its_own_server(server: tuple[str, list[str], dict[str, str]]) -> None:
    """The order demo is allowed because it is this server's own made-up data; the server's other
    addresses are private like any other (it trusts loopback for its proxy headers)."""
    base, _, headers = server
    for elsewhere in (f"{base}/api/flows", f"{base}/demo/orders/../../api/flows", f"{base}/demo/../health?x="):
        started = httpx.post(
            f"{base}/api/flows/order-status/conversations",
            json={"variables": {"orders_api": elsewhere}},
            headers=headers,
        ).json()
        cid = started["conversation_id"]
        said = httpx.post(f"{base}/api/conversations/{cid}/messages", json={"text": "A1001"}, headers=headers)
        assert said.status_code == 200
        state = httpx.get(f"{base}/api/conversations/{cid}", headers=headers).json()
        assert (
            state["variables"]["http_error"]
            == "The address 127.0.0.1 is on a private network, which flows may not reach."
        )


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
    headers = token_for(tmp_path)
    with started("serve", tmp_path) as (base, _):
        cid = httpx.post(f"{base}/api/flows/nap/conversations", json={}, headers=headers).json()["conversation_id"]
    # the server process has stopped before the wait was over; a new one takes the stored timer
    with started("serve", tmp_path) as (base, _):
        for _ in range(100):
            answer = httpx.get(f"{base}/api/conversations/{cid}/messages", headers=headers)
            texts = [m["text"] for m in answer.json()["messages"]]
            if texts[-1] == "I'm back.":
                break
            time.sleep(0.1)
        assert texts == ["Back soon.", "I'm back."]


def test_a_wrong_encryption_key_stops_the_start_and_changes_nothing(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet
    from sqlalchemy import inspect, text

    from flows.db import make_engine
    from runtime.channels.secretbox import SecretBox, check_key

    engine = make_engine(f"sqlite:///{tmp_path / 'chatloom.db'}")
    check_key(SecretBox.for_data_folder(tmp_path), engine)  # what the first start left: the key's check value
    with engine.connect() as conn:
        check = conn.execute(text("SELECT sealed FROM secret_key_check")).scalar_one()
    env = {**os.environ, "CHATLOOM_DATA": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    for key, said in ((Fernet.generate_key().decode(), "is not the one this database's secrets were sealed with"),
                      ("not a key", "is not a valid key")):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "chatloom", "serve", "--port", str(free_port())],
            env={**env, "CHATLOOM_SECRET_KEY": key},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
        )
        assert done.returncode == 1 and said in done.stderr, done.stderr
        assert key not in done.stderr + done.stdout  # the key itself is never printed
    with engine.connect() as conn:  # no example installed, the check value as it was
        assert "flows" not in inspect(engine).get_table_names() or not conn.execute(text("SELECT * FROM flows")).all()
        assert conn.execute(text("SELECT sealed FROM secret_key_check")).scalar_one() == check
    engine.dispose()

"""A workspace's secrets reach its own flows' HTTP steps, sealed at rest, and nowhere else: not
another workspace's flows, not the transcript, not the variables, not a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.engine import Engine

from flows.document import flow_from_data
from nodes.api import Services
from nodes.registry import Registry
from runtime.channels.secretbox import SecretBox
from runtime.engine import Runtime
from runtime.workspace_secrets import TABLE, WorkspaceSecrets
from runtime.workspaces import DEFAULT, Workspaces
from tests.fakes.echo_api import EchoApi

KEY = "s3cr3t-acme-0123456789"


@pytest.fixture
def api() -> Iterator[EchoApi]:
    with EchoApi() as server:
        yield server


def _flow(flow_id: str, url: str) -> dict:
    return {
        "id": flow_id,
        "name": flow_id,
        "start": "s",
        "nodes": [
            {"id": "s", "type": "flow.start"},
            {
                "id": "call",
                "type": "http.request",
                "settings": {
                    "url": url,
                    "headers": [{"name": "Authorization", "value": "Bearer {{ secrets.API_KEY }}"}],
                    "response": [{"variable": "answer", "path": "data.total"}],
                },
            },
            {"id": "end", "type": "flow.end", "settings": {"message": "Done: {{ answer }}."}},
        ],
        "edges": [{"id": "a", "source": "s", "target": "call"}, {"id": "b", "source": "call", "target": "end"}],
    }


async def test_each_flow_gets_its_own_workspace_s_secrets(
    engine: Engine, builtins: Registry, api: EchoApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    vault = WorkspaceSecrets(engine, SecretBox(Fernet.generate_key()))
    spaces = Workspaces(engine)
    acme = spaces.create("Acme")
    async with httpx.AsyncClient() as http:
        runtime = Runtime(engine, builtins, services=Services(http=http, secrets_for=vault.for_flow))
        for flow_id, place in (("acme-bot", acme.id), ("other-bot", DEFAULT)):
            runtime.flows.save_draft(flow_from_data(_flow(flow_id, api.url("/json"))))
            runtime.flows.publish(flow_id, builtins)
            spaces.place(flow_id, place)
        vault.set(acme.id, "API_KEY", KEY)
        acme_cid, said = await runtime.start("acme-bot", user_id="u")
        assert said[-1].text == "Done: 2."
        other_cid, _ = await runtime.start("other-bot", user_id="u")
    sent = [s.headers.get("authorization") or s.headers.get("Authorization") for s in api.seen]
    assert sent == [f"Bearer {KEY}"]  # the other workspace's flow had no key ("Bearer " is not even sendable)
    assert "http_error" in runtime.store.load(other_cid).vars  # type: ignore[union-attr]
    with engine.connect() as conn:
        assert KEY not in str(conn.execute(select(TABLE)).all())  # sealed at rest
    kept = json.dumps(
        [runtime.store.load(c).vars for c in (acme_cid, other_cid)]  # type: ignore[union-attr]
        + [m.to_json() for c in (acme_cid, other_cid) for m in runtime.store.messages(c)]
    )
    assert KEY not in kept and KEY not in caplog.text
    assert vault.names(acme.id) == ["API_KEY"] and vault.names(DEFAULT) == []


def test_names_and_values_are_checked(engine: Engine) -> None:
    vault = WorkspaceSecrets(engine, SecretBox(Fernet.generate_key()))
    with pytest.raises(ValueError, match="letters, digits and _"):
        vault.set(DEFAULT, "1 bad name", "x")
    with pytest.raises(ValueError, match="1 to 8,192 characters"):
        vault.set(DEFAULT, "EMPTY", "")
    vault.set(DEFAULT, "TOKEN", "one")
    vault.set(DEFAULT, "TOKEN", "two")  # replaced, not doubled
    assert vault.for_flow("any-flow") == {"TOKEN": "two"}
    other = WorkspaceSecrets(engine, SecretBox(Fernet.generate_key()))  # another key: unreadable, left out
    assert other.for_flow("any-flow") == {}
    assert vault.remove(DEFAULT, "TOKEN") and not vault.remove(DEFAULT, "TOKEN")

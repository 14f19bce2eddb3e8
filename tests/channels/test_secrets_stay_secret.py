"""Channel tokens, webhook secrets and model API keys never appear in what leaves the server or is
written down: logs (at DEBUG), exports, the audit log, API answers, the builder's pages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from runtime.ai.setup import attach_ai
from runtime.audit import as_csv
from tests.access import api_headers
from tests.channels.conftest import SECRET, TOKEN, Rig, text_update

MODEL_KEY = "sk-live-0123456789abcdefSECRETKEY"


async def test_no_secret_in_any_log_export_audit_entry_or_answer(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ai = attach_ai(rig.runtime, tmp_path)
    ai.store.save(
        {
            "name": "paid",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "api_key": MODEL_KEY,
            "api_base": "http://127.0.0.1:9",
        }
    )  # fmt: skip  (nothing listens there: the call fails)
    seen: list[str] = []
    assert (await rig.post(text_update(1, "hi"), secret="wrong")).status_code == 401
    assert (await rig.post(text_update(2, "hi"))).status_code == 200
    await rig.settle()
    assert (await rig.post(text_update(3, "Ada"))).status_code == 200
    await rig.settle()
    from nodes.ai.llm import ChatRequest, ModelError

    with pytest.raises(ModelError) as failed:  # a provider's error, as the models page and logs show it
        await ai.models.chat(ChatRequest(messages=[{"role": "user", "content": "hi"}], models=("paid",)))
    seen.append(str(failed.value))
    app = rig.client._transport.app  # type: ignore[attr-defined]
    headers = api_headers(app)
    for method, path, body in (
        ("POST", "/api/privacy/export", {"user_id": "777"}),
        ("GET", "/api/audit?format=csv", None),
        ("GET", "/api/me", None),
        ("GET", "/openapi.json", None),
        ("GET", "/api/flows", None),
    ):
        r = await rig.client.request(method, path, json=body, headers=headers)
        assert r.status_code == 200, (path, r.text)
        seen.append(r.text)
    seen += [
        caplog.text,
        as_csv(app.state.access.audit.entries()),
        repr(ai.store.all()),
    ]
    with rig.runtime.engine.connect() as conn:  # at rest: sealed, never in plain text
        for table in ("deployments", "ai_models", "audit_log", "channel_inbox", "conversations"):
            seen.append(str(conn.execute(text(f"SELECT * FROM {table}")).all()))
    everything = "\n".join(seen)
    assert "Ada" in everything  # the search reads real output
    for secret in (TOKEN, SECRET, MODEL_KEY, TOKEN.split(":")[1]):
        assert secret not in everything, secret

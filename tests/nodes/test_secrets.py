"""Secret settings of a plugin's node type: saved as written, never shown, blanked in exports."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field, SecretStr

from flows.db import make_engine
from flows.document import dump_flow, parse_flow
from flows.models import Flow, Node
from flows.store import FlowStore
from nodes.api import NodeContext, NodeType, Step
from nodes.registry import Registry
from nodes.secrets import has_secrets, settings_data, without_secrets


class Header(BaseModel):
    name: str
    token: SecretStr | None = None


class CrmSettings(BaseModel):
    url: str = Field("https://crm.example", title="CRM address")
    api_key: SecretStr = Field(title="API key")
    extra: list[Header] = []


async def _run(ctx: NodeContext, s: CrmSettings) -> Step:
    return Step()


CRM = NodeType(type="acme.crm", version=1, title="CRM lookup", category="integrations", settings=CrmSettings, run=_run)
REGISTRY = Registry.of([CRM], distribution="acme-nodes")


def _flow(settings: dict) -> Flow:  # type: ignore[type-arg]
    return Flow(id="crm", name="CRM", start="crm", nodes=[Node(id="crm", type="acme.crm", settings=settings)])


def test_settings_keep_the_secret_itself_not_pydantic_s_mask() -> None:
    parsed = CrmSettings(api_key=SecretStr("sk-live-123"), extra=[Header(name="x", token=SecretStr("t0k"))])
    data = settings_data(parsed)
    assert data["api_key"] == "sk-live-123" and data["extra"][0]["token"] == "t0k"
    assert CRM.parse(data, 1) == parsed  # and they read back the same
    assert "sk-live-123" not in repr(parsed) and "sk-live-123" not in str(parsed)


def test_an_export_blanks_every_secret_and_keeps_the_rest() -> None:
    flow = _flow({"api_key": "sk-live-123", "url": "https://crm.acme", "extra": [{"name": "x", "token": "t0k"}]})
    exported = dump_flow(without_secrets(flow, REGISTRY))
    assert "sk-live-123" not in exported and "t0k" not in exported
    settings = parse_flow(exported).nodes[0].settings
    assert settings == {"api_key": "", "url": "https://crm.acme", "extra": [{"name": "x", "token": ""}]}
    assert has_secrets(CrmSettings) and not has_secrets(Header.__base__)  # type: ignore[arg-type]


def test_settings_that_do_not_validate_are_blanked_too() -> None:
    flow = _flow({"api_key": "sk-live-123", "url": 5})
    assert "sk-live-123" not in dump_flow(without_secrets(flow, REGISTRY))


def test_nodes_of_types_not_installed_are_exported_as_they_are() -> None:
    flow = _flow({"api_key": "kept"}).model_copy(
        update={"nodes": [Node(id="crm", type="other.thing", settings={"a": 1})]}
    )
    assert without_secrets(flow, REGISTRY) == flow


def test_chatloom_export_blanks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chatloom import cli

    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'chatloom.db'}")
    FlowStore(engine).save_draft(_flow({"api_key": "sk-live-123"}))
    engine.dispose()
    monkeypatch.setattr(cli, "registry", lambda: REGISTRY)  # the plugin installed
    assert cli.main(["export", "crm", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "acme.crm" in out and "sk-live-123" not in out

"""`chatloom deploy` and `chatloom channels` in the terminal, against the fake Telegram."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.channels.conftest import TOKEN
from tests.fakes.telegram import FakeTelegram


def _cli(*args: str, data: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full = {**os.environ, **(env or {})}
    full.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "chatloom", *args, "--data", str(data)],
        check=False,
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
    )


def test_deploy_a_flow_to_telegram_and_register_the_webhook(tmp_path: Path, fake: FakeTelegram) -> None:
    data = tmp_path / "data"
    template = Path(__file__).resolve().parents[2] / "flows" / "templates" / "faq_menu.json"
    assert _cli("import", str(template), "--publish", data=data).returncode == 0
    no_token = _cli("deploy", "telegram", "support", "faq-menu", data=data, env={"TELEGRAM_BOT_TOKEN": ""})
    assert no_token.returncode != 0 and "TELEGRAM_BOT_TOKEN" in no_token.stderr
    done = _cli(
        "deploy", "telegram", "support", "faq-menu", "--api-base", fake.url, "--webhook", "https://bots.example",
        data=data, env={"TELEGRAM_BOT_TOKEN": TOKEN},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert fake.webhook["url"] == "https://bots.example/hooks/telegram/support"
    assert len(fake.webhook["secret_token"]) >= 32
    assert TOKEN not in done.stdout + done.stderr
    listed = _cli("channels", data=data)
    assert "telegram/support: faq-menu v1, answering" in listed.stdout
    assert _cli("deploy", "telegram", "support", "faq-menu", "--pause", data=data).returncode == 0
    assert "paused" in _cli("channels", data=data).stdout
    assert _cli("import", str(template), "--publish", data=data).returncode == 0  # version 2
    env = {"TELEGRAM_BOT_TOKEN": TOKEN}
    moved = _cli("deploy", "telegram", "support", "faq-menu", "--move-running", data=data, env=env)
    assert moved.returncode == 0, moved.stderr
    assert "version 2" in moved.stdout and "0 running conversation(s) moved to version 2." in moved.stdout
    bad = _cli("deploy", "telegram", "no spaces!", "faq-menu", data=data, env={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert bad.returncode != 0 and "account name" in bad.stderr
    missing = _cli("deploy", "telegram", "x", "nope", data=data, env={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert missing.returncode != 0 and "Publish it first" in missing.stderr


def test_deploy_a_flow_to_slack_needs_its_signing_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    template = Path(__file__).resolve().parents[2] / "flows" / "templates" / "faq_menu.json"
    assert _cli("import", str(template), "--publish", data=data).returncode == 0
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": ""}
    missing = _cli("deploy", "slack", "team", "faq-menu", data=data, env=env)
    assert missing.returncode != 0 and "SLACK_SIGNING_SECRET" in missing.stderr
    env["SLACK_SIGNING_SECRET"] = "abc123"
    done = _cli("deploy", "slack", "team", "faq-menu", "--webhook", "https://bots.example", data=data, env=env)
    assert done.returncode == 0, done.stderr
    assert "https://bots.example/hooks/slack/team" in done.stdout and "abc123" not in done.stdout
    assert "slack/team: faq-menu v1" in _cli("channels", data=data).stdout


def test_deploy_to_messenger_prints_the_callback_and_verify_token(tmp_path: Path) -> None:
    data = tmp_path / "data"
    template = Path(__file__).resolve().parents[2] / "flows" / "templates" / "faq_menu.json"
    assert _cli("import", str(template), "--publish", data=data).returncode == 0
    env = {"META_PAGE_TOKEN": "EAAG-secret", "META_APP_SECRET": ""}
    assert "META_APP_SECRET" in _cli("deploy", "messenger", "page", "faq-menu", data=data, env=env).stderr
    env["META_APP_SECRET"] = "app-secret"
    done = _cli("deploy", "messenger", "page", "faq-menu", "--webhook", "https://bots.example", data=data, env=env)
    assert done.returncode == 0, done.stderr
    assert "https://bots.example/hooks/messenger/page" in done.stdout and "Verify token: " in done.stdout
    assert "EAAG-secret" not in done.stdout and "app-secret" not in done.stdout


def test_deploy_to_whatsapp_needs_the_phone_number_id(tmp_path: Path) -> None:
    data = tmp_path / "data"
    template = Path(__file__).resolve().parents[2] / "flows" / "templates" / "faq_menu.json"
    assert _cli("import", str(template), "--publish", data=data).returncode == 0
    env = {"WHATSAPP_TOKEN": "EAAJ-secret", "WHATSAPP_PHONE_ID": "", "META_APP_SECRET": "s"}
    assert "WHATSAPP_PHONE_ID" in _cli("deploy", "whatsapp", "shop", "faq-menu", data=data, env=env).stderr
    env["WHATSAPP_PHONE_ID"] = "106540352242922"
    done = _cli("deploy", "whatsapp", "shop", "faq-menu", data=data, env=env)
    assert done.returncode == 0, done.stderr
    assert "/hooks/whatsapp/shop" in done.stdout and "EAAJ-secret" not in done.stdout


def test_the_command_offers_every_channel_there_is() -> None:
    from chatloom.deploy import CHANNELS
    from runtime.channels.kinds import KINDS

    assert sorted(CHANNELS) == sorted(KINDS)

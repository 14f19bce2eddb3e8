"""The deployments page: bind a published flow to a Telegram bot, a WhatsApp number, a Slack app,
a web chat; see the webhook, verify token and health; switch versions (running conversations
finish or move), pause, register the webhook, send dead letters again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nicegui.testing.user import User
from sqlalchemy import select

from builder.context import TEMPLATES, Builder
from flows.document import parse_flow
from runtime.channels.store import DEPLOY
from tests.channels.conftest import TOKEN
from tests.fakes.telegram import FakeTelegram, running


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with running(FakeTelegram(TOKEN)) as f:
        yield f


def _publish(builder: Builder, times: int = 1) -> None:
    flow = parse_flow((TEMPLATES / "faq_menu.json").read_bytes())
    builder.flows.save_draft(flow)
    for _ in range(times):
        builder.flows.publish(flow.id, builder.registry)


async def test_deploy_a_flow_and_register_its_webhook(user: User, builder: Builder, fake: FakeTelegram) -> None:
    _publish(builder)
    await user.open("/deployments")
    user.find(marker="account").type("support")
    user.find(marker="flow").click()
    user.find("FAQ menu").click()
    user.find(marker="telegram-token").type(TOKEN)
    user.find(marker="api-base").type(fake.url)
    user.find(marker="deploy").click()
    await user.should_see("answers with faq-menu version 1")
    await user.should_see(marker="deployment-telegram-support")
    await user.should_see("/hooks/telegram/support")
    assert builder.channels is not None
    stored = builder.channels.store.deployment("telegram", "support")
    assert stored is not None and stored.credentials["token"] == TOKEN and len(stored.credentials["secret_token"]) >= 32
    with builder.runtime.engine.connect() as c:
        assert TOKEN not in c.execute(select(DEPLOY.c.credentials)).scalar_one()  # encrypted at rest
    assert TOKEN not in str(user.find(marker="telegram-token").elements.pop().value)  # not kept in the page
    user.find(marker="register-support").click()
    await user.should_see("Telegram sends updates to")
    assert fake.webhook["url"].endswith("/hooks/telegram/support")
    assert fake.webhook["secret_token"] == stored.credentials["secret_token"]


async def test_switch_version_and_pause(user: User, builder: Builder, fake: FakeTelegram) -> None:
    _publish(builder, times=2)
    assert builder.channels is not None
    store = builder.channels.store
    store.deploy("telegram", "support", "faq-menu", 1, {"token": TOKEN, "secret_token": "s"}, api_base=fake.url)
    await user.open("/deployments")
    await user.should_see(marker="health-support")
    await user.should_see("Last event: never")
    user.find(marker="version-support").elements.pop().value = 2  # what choosing "2" in the list does
    await user.should_see(marker="switch-dialog")
    user.find(marker="switch-cancel").click()
    await user.should_not_see(marker="switch-dialog")
    assert store.deployment("telegram", "support").version == 1  # type: ignore[union-attr]
    assert user.find(marker="version-support").elements.pop().value == 1
    user.find(marker="version-support").elements.pop().value = 2
    user.find(marker="switch-finish").click()
    await user.should_see("running ones finish on theirs")
    assert store.deployment("telegram", "support").version == 2  # type: ignore[union-attr]
    user.find(marker="answering-support").click()
    await user.should_see("paused")
    assert store.deployment("telegram", "support").paused  # type: ignore[union-attr]


async def test_bad_input_is_explained_and_nothing_is_saved(user: User, builder: Builder) -> None:
    _publish(builder)
    await user.open("/deployments")
    user.find(marker="account").type("no spaces!")
    user.find(marker="deploy").click()
    await user.should_see("letters, digits")
    user.find(marker="account").clear().type("ok-name")
    user.find(marker="deploy").click()
    await user.should_see("Choose a published flow")
    assert builder.channels is not None and builder.channels.store.deployments() == []


async def test_dead_letters_are_listed_and_sent_again(user: User, builder: Builder) -> None:
    from nodes.api import Outbound
    from runtime.channels.base import ChannelEvent

    assert builder.channels is not None
    store = builder.channels.store
    event = ChannelEvent(channel="telegram", account="support", chat="777", user="777", event_id="9", kind="other")
    store.enqueue_message("telegram-x", event, Outbound(text="Sorry"))
    row = store.due(now=1e12)[0]
    store.dead(row.id, 1, "Forbidden: bot was blocked by the user")
    await user.open("/deployments")
    await user.should_see("1 message(s) could not be delivered")
    await user.should_see("bot was blocked by the user")
    user.find(marker=f"revive-{row.id}").click()
    await user.should_see("It will be sent again.")
    assert store.dead_letters() == [] and store.due(now=1e12)[0].id == row.id


async def test_a_web_chat_shows_its_snippet_and_preview(user: User, builder: Builder) -> None:
    _publish(builder)
    await user.open("/deployments")
    user.find(marker="kind").elements.pop().value = "web"
    user.find(marker="account").type("site")
    user.find(marker="flow").elements.pop().value = "faq-menu"
    user.find(marker="deploy").click()
    await user.should_see("Web chat “site” answers with faq-menu version 1")
    await user.should_see(marker="snippet-site")
    await user.should_see(marker="preview-site")
    assert builder.channels is not None and builder.channels.store.deployment("web", "site") is not None


async def test_deploy_to_whatsapp_shows_the_verify_token(user: User, builder: Builder) -> None:
    _publish(builder)
    assert builder.channels is not None
    await user.open("/deployments")
    user.find(marker="kind").elements.pop().value = "whatsapp"
    user.find(marker="account").type("shop")
    user.find(marker="flow").elements.pop().value = "faq-menu"
    user.find(marker="whatsapp-token").type("EAAG-access-token")
    user.find(marker="whatsapp-phone_id").type("1029384756")
    user.find(marker="deploy").click()
    await user.should_see("The app secret is missing")  # and where to find it
    assert builder.channels.store.deployments() == []
    user.find(marker="whatsapp-app_secret").type("meta-app-secret")
    user.find(marker="deploy").click()
    await user.should_see("WhatsApp number “shop” answers with faq-menu version 1")
    stored = builder.channels.store.deployment("whatsapp", "shop")
    assert stored is not None and stored.credentials["phone_id"] == "1029384756"
    await user.should_see("/hooks/whatsapp/shop")
    await user.should_see(f"Verify token: {stored.credentials['verify_token']}")
    await user.should_not_see("EAAG-access-token")
    await user.should_not_see("meta-app-secret")


async def test_deploy_to_slack_needs_both_secrets(user: User, builder: Builder) -> None:
    _publish(builder)
    assert builder.channels is not None
    await user.open("/deployments")
    user.find(marker="kind").elements.pop().value = "slack"
    user.find(marker="account").type("team")
    user.find(marker="flow").elements.pop().value = "faq-menu"
    user.find(marker="slack-token").type("xoxb-1-2-3")
    user.find(marker="deploy").click()
    await user.should_see("The signing secret is missing")
    user.find(marker="slack-signing_secret").type("slack-signing")
    user.find(marker="deploy").click()
    await user.should_see("Slack app “team” answers with faq-menu version 1")
    await user.should_see("Request URL of Event Subscriptions")
    stored = builder.channels.store.deployment("slack", "team")
    assert stored is not None and stored.credentials == {"token": "xoxb-1-2-3", "signing_secret": "slack-signing"}


async def test_switch_and_move_the_running_conversations(user: User, builder: Builder) -> None:
    _publish(builder, times=2)
    assert builder.channels is not None
    store = builder.channels.store
    store.deploy("telegram", "support", "faq-menu", 1, {"token": TOKEN, "secret_token": "s"})
    cid, _ = await builder.runtime.start("faq-menu", version=1, channel="telegram", account="support")
    await user.open("/deployments")
    user.find(marker="version-support").elements.pop().value = 2
    user.find(marker="switch-move").click()
    await user.should_see("1 running conversation(s) moved")
    state = builder.runtime.store.load(cid)
    assert state is not None and state.version == 2


async def test_a_workspace_secret_is_saved_never_shown_and_audited(user: User, builder: Builder) -> None:
    from runtime.workspace_secrets import WorkspaceSecrets

    await user.open("/deployments")
    user.find(marker="secret-name").type("CRM_API_KEY")
    user.find(marker="secret-value").type("crm-live-key-0123456789")
    user.find(marker="save-secret").click()
    await user.should_see("Saved the secret CRM_API_KEY.")
    await user.should_see(marker="secret-CRM_API_KEY")
    assert user.find(marker="secret-value").elements.pop().value == ""  # not left on the page
    vault = WorkspaceSecrets(builder.runtime.engine, builder.channels.store.box)  # type: ignore[union-attr]
    assert vault.for_flow("any") == {"CRM_API_KEY": "crm-live-key-0123456789"}
    [entry] = builder.access.audit.entries(action="secret")
    assert entry.target == "default/CRM_API_KEY" and "crm-live" not in str(entry.to_json())
    user.find(marker="remove-secret-CRM_API_KEY").click()
    await user.should_not_see(marker="secret-CRM_API_KEY")
    assert vault.names("default") == []

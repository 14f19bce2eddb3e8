"""The deployments page: bind a published flow to a Telegram bot, see its webhook and health,
switch versions, pause, register the webhook, send dead letters again."""

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
    user.find(marker="token").type(TOKEN)
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
    assert TOKEN not in str(user.find(marker="token").elements.pop().value)  # not kept in the page
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
    await user.should_see("use version 2")
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
    await user.should_see("The web chat “site” answers with faq-menu version 1")
    await user.should_see(marker="snippet-site")
    await user.should_see(marker="preview-site")
    assert builder.channels is not None and builder.channels.store.deployment("web", "site") is not None

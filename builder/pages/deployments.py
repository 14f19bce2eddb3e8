"""Deployments: a published flow version answering on a channel account.

Bind one (credentials go straight into the encrypted store and are never shown again), see its
webhook address, register it with Telegram in one click, switch it to another version, pause and
resume it, watch its health (last event, last error, messages waiting), and send again what could
not be delivered.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from nicegui import ui

from builder.context import Builder
from runtime.channels.service import Channels

ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")


def register(builder: Builder) -> None:
    @ui.page("/deployments")
    def deployments() -> None:
        ui.link("← Flows", "/")
        ui.label("Channels").classes("text-2xl font-medium")
        if builder.channels is None:
            ui.label("Channels are not enabled in this server.")
            return
        Deployments(builder, builder.channels)


class Deployments:
    """One browser tab's deployments page."""

    def __init__(self, builder: Builder, channels: Channels) -> None:
        self.builder, self.channels, self.store = builder, channels, channels.store
        self.base = _base_url()
        with ui.card().classes("w-full max-w-3xl"):
            ui.label("Put a published flow on Telegram or on your website").classes("text-lg font-medium")
            self.kind = ui.toggle({"telegram": "Telegram bot", "web": "Web chat"}, value="telegram").mark("kind")
            published = [f for f in builder.flows.list() if f.latest_version]
            with ui.row().classes("w-full items-end gap-2"):
                self.account = ui.input("Bot name in Chatloom", placeholder="support-bot").mark("account")
                self.flow = ui.select({f.id: f.name for f in published}, label="Flow").classes("w-56").mark("flow")
                self.token = ui.input("Bot token from @BotFather", password=True).classes("w-72").mark("token")
            self.api_base = ui.input("Bot API address (leave empty for Telegram's)").classes("w-96").mark("api-base")
            self.token.bind_visibility_from(self.kind, "value", value="telegram")
            self.api_base.bind_visibility_from(self.kind, "value", value="telegram")
            ui.button("Deploy", icon="rocket_launch", on_click=self._deploy).mark("deploy")
        self.rows = ui.column().classes("w-full gap-2")
        self.dead = ui.column().classes("w-full gap-1")
        self.refresh()

    def refresh(self) -> None:
        self.rows.clear()
        with self.rows:
            found = self.store.deployments()
            if not found:
                ui.label("Nothing deployed yet.")
            for d in found:
                self._row(d)
        self.dead.clear()
        with self.dead:
            letters = self.store.dead_letters()
            if letters:
                ui.label(f"{len(letters)} message(s) could not be delivered").classes("text-lg font-medium mt-4")
            for letter in letters:
                with ui.row().classes("items-center gap-2").mark(f"dead-{letter.id}"):
                    ui.label(f"{letter.channel}/{letter.account} → chat {letter.chat}: {letter.last_error}").classes(
                        "text-sm"
                    )
                    ui.button("Send again", on_click=lambda _, i=letter.id: self._revive(i)).props("flat dense").mark(
                        f"revive-{letter.id}"
                    )

    def _row(self, d: Any) -> None:
        channel, account = d.channel, d.account
        versions = [v.version for v in self.builder.flows.versions(d.flow_id)]
        url = f"{self.base}/hooks/{channel}/{account}"
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.last_event_at)) if d.last_event_at else "never"
        with ui.card().classes("w-full max-w-3xl").mark(f"deployment-{channel}-{account}"):
            with ui.row().classes("w-full items-center gap-3"):
                ui.label(f"{channel} / {account}").classes("text-lg font-medium")
                ui.label(f"{d.flow_id}").classes("text-gray-600")
                ui.select(
                    versions,
                    value=d.version,
                    label="Version",
                    on_change=lambda e: self._switch(channel, account, int(e.value)),
                ).classes("w-28").mark(f"version-{account}")
                ui.space()
                ui.switch(
                    "Answering",
                    value=not d.paused,
                    on_change=lambda e: self._pause(channel, account, not e.value),
                ).mark(f"answering-{account}")
            if channel == "web":
                snippet = f'<script src="{self.base}/widget/{account}.js" async></script>'
                ui.label("Paste into your website:").classes("text-sm")
                ui.code(snippet, language="html").classes("w-full").mark(f"snippet-{account}")
                ui.link("Open the preview page", f"/widget/{account}/preview", new_tab=True).mark(f"preview-{account}")
            else:
                ui.label(f"Webhook address: {url}").classes("text-sm font-mono").mark(f"webhook-{account}")
            health = f"Last event: {seen} · messages waiting: {self.store.pending_count(channel, account)}"
            if d.last_error:
                health += f" · last error: {d.last_error}"
            ui.label(health).classes("text-sm text-gray-600").mark(f"health-{account}")
            if channel == "telegram":
                with ui.row().classes("items-end gap-2"):
                    public = ui.input("This server's public https address", value=self.base).classes("w-96")
                    ui.button(
                        "Register with Telegram", on_click=lambda: self._register(channel, account, public.value)
                    ).props("outline").mark(f"register-{account}")

    async def _deploy(self) -> None:
        account, flow_id, token = (self.account.value or "").strip(), self.flow.value, (self.token.value or "").strip()
        if not ACCOUNT.match(account):
            ui.notify(
                "The bot name is letters, digits, - and _ (it becomes part of the webhook address).", type="warning"
            )
            return
        if not flow_id:
            ui.notify("Choose a published flow.", type="warning")
            return
        if self.kind.value == "web":
            version = self.builder.flows.latest_version(flow_id)
            self.store.deploy("web", account, flow_id, version, {})
            ui.notify(f"The web chat “{account}” answers with {flow_id} version {version}.", type="positive")
            self.refresh()
            return
        existing = self.store.deployment("telegram", account)
        if not token and existing is None:
            ui.notify("Paste the bot token from @BotFather.", type="warning")
            return
        credentials = dict(existing.credentials) if existing else {}
        if token:
            credentials["token"] = token
        credentials.setdefault("secret_token", secrets.token_urlsafe(32))
        version = self.builder.flows.latest_version(flow_id)
        self.store.deploy(
            "telegram", account, flow_id, version, credentials, api_base=(self.api_base.value or "").strip()
        )
        await self.channels.forget("telegram", account)
        self.token.value = ""  # never kept in the page
        ui.notify(f"Telegram bot “{account}” answers with {flow_id} version {version}.", type="positive")
        self.refresh()

    async def _switch(self, channel: str, account: str, version: int) -> None:
        d = self.store.deployment(channel, account)
        if d is None or d.version == version:
            return
        self.store.deploy(channel, account, d.flow_id, version, d.credentials, api_base=d.api_base)
        await self.channels.forget(channel, account)
        ui.notify(f"New conversations on {account} use version {version}; running ones finish on theirs.")

    async def _pause(self, channel: str, account: str, paused: bool) -> None:
        self.store.set_paused(channel, account, paused)
        await self.channels.forget(channel, account)
        ui.notify(f"{account} {'paused: messages are acknowledged and dropped' if paused else 'answers again'}.")

    async def _register(self, channel: str, account: str, public: str) -> None:
        found = self.channels.adapter(channel, account)
        if found is None or not hasattr(found[1], "set_webhook"):
            return
        url = f"{(public or '').rstrip('/')}/hooks/{channel}/{account}"
        try:
            await found[1].set_webhook(url)
        except Exception as exc:  # noqa: BLE001 - the platform refused or is unreachable: say so
            reason = found[1].redact(exc) if hasattr(found[1], "redact") else type(exc).__name__
            ui.notify(f"Telegram did not take {url}: {reason}", type="negative")
            return
        ui.notify(f"Telegram sends updates to {url}.", type="positive")

    def _revive(self, row_id: int) -> None:
        self.store.revive(row_id)
        self.channels.nudge()
        ui.notify("It will be sent again.")
        self.refresh()


def _base_url() -> str:
    try:
        return str(ui.context.client.request.base_url).rstrip("/")
    except (AttributeError, RuntimeError):
        return ""

"""Deployments: a published flow version answering on a channel account.

Bind one (credentials go straight into the encrypted store and are never shown again), see its
webhook address, register it with Telegram in one click, switch it to another version, pause and
resume it, watch its health (last event, last error, messages waiting), and send again what could
not be delivered.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import Visitor, account_menu, enter
from builder.context import Builder
from builder.i18n import _, n_
from builder.widgets import named_dialog
from runtime.channels.kinds import ACCOUNT, ACCOUNT_RULE, KINDS, Credential, MissingCredential, credentials
from runtime.channels.service import Channels
from runtime.workspace_secrets import WorkspaceSecrets


def register(builder: Builder) -> None:
    @ui.page("/deployments")
    def deployments(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        with ui.row().classes("w-full items-center"):
            ui.link(_("← Flows"), "/")
            ui.label(_("Channels")).classes("text-2xl font-medium")
            ui.space()
            account_menu(who)
        if builder.channels is None:
            ui.label(_("Channels are not enabled in this server."))
            return None
        Deployments(builder, builder.channels, who)
        return None


class Deployments:
    """One browser tab's deployments page."""

    def __init__(self, builder: Builder, channels: Channels, who: Visitor) -> None:
        self.builder, self.channels, self.store, self.who = builder, channels, channels.store, who
        self.base = _base_url()
        with ui.card().classes("w-full max-w-3xl"):
            ui.label(_("Put a published flow on a channel")).classes("text-lg font-medium")
            self.kind = ui.toggle({k: _(kind.title) for k, kind in KINDS.items()}, value="telegram").mark("kind")
            published = [f for f in builder.flows.list() if f.latest_version and who.sees_flow(f.id)]
            with ui.row().classes("w-full items-end gap-2"):
                self.account = ui.input(_("Name in Chatloom"), placeholder=_("support-bot")).mark("account")
                self.flow = ui.select({f.id: f.name for f in published}, label=_("Flow")).classes("w-56").mark("flow")
            self.secrets: dict[str, dict[str, ui.input]] = {}
            for name, kind in KINDS.items():
                fields = ui.column().classes("w-full gap-1")
                fields.bind_visibility_from(self.kind, "value", value=name)
                with fields:
                    self.secrets[name] = {c.key: self._credential(name, c) for c in kind.credentials}
            self.api_base = ui.input(_("The platform's API address (leave empty for the public one)")).classes("w-96")
            self.api_base.mark("api-base").bind_visibility_from(self.kind, "value", backward=lambda v: v != "web")
            ui.button(_("Deploy"), icon="rocket_launch", on_click=self._deploy).mark("deploy")
        self.vault, self.place = WorkspaceSecrets(builder.runtime.engine, channels.store.box), who.workspace()
        if self.place is not None:
            with ui.card().classes("w-full max-w-3xl"):
                ui.label(_("Secrets for HTTP steps (workspace “{workspace}”)", workspace=self.place)).classes(
                    "text-lg font-medium"
                )
                ui.label(
                    _(
                        "Write {{ secrets.NAME }} in an HTTP step's address, header or body. Stored encrypted; never "
                        "shown again, never in a flow file or a log."
                    )
                ).classes("text-sm text-gray-600")
                self.secret_names = ui.row().classes("gap-2").mark("secret-names")
                with ui.row().classes("items-end gap-2"):
                    self.secret_name = ui.input(_("Name"), placeholder="CRM_API_KEY").mark("secret-name")
                    self.secret_value = ui.input(_("Value"), password=True).classes("w-72").mark("secret-value")
                    ui.button(_("Save"), on_click=self._set_secret).props("outline").mark("save-secret")
            self._show_secrets()
        self.rows = ui.column().classes("w-full gap-2")
        self.dead = ui.column().classes("w-full gap-1")
        self.refresh()

    @staticmethod
    def _credential(channel: str, credential: Credential) -> ui.input:
        """A field for one credential: written, never shown again."""
        field = ui.input(_(credential.label), password=True).classes("w-96").mark(f"{channel}-{credential.key}")
        field.props["hint"] = _("From {where}. Stored encrypted; never shown again.", where=_(credential.where))
        return field

    def _show_secrets(self) -> None:
        self.secret_names.clear()
        with self.secret_names:
            for name in self.vault.names(str(self.place)):
                with ui.row().classes("items-center gap-0 border rounded px-2").mark(f"secret-{name}"):
                    ui.label(name).classes("font-mono text-sm")
                    ui.button(icon="close", on_click=lambda _, n=name: self._remove_secret(n)).props("flat dense").mark(
                        f"remove-secret-{name}"
                    )

    def _set_secret(self) -> None:
        name, value = (self.secret_name.value or "").strip(), self.secret_value.value or ""
        self.secret_value.value = ""  # never left on the page
        if not self.who.may("channels.deploy") or self.place is None:
            return
        try:
            self.vault.set(self.place, name, value)
        except ValueError as exc:
            ui.notify(str(exc), type="warning")
            return
        self.who.record("secret.set", f"{self.place}/{name}")
        self.secret_name.value = ""
        ui.notify(_("Saved the secret {name}.", name=name))
        self._show_secrets()

    def _remove_secret(self, name: str) -> None:
        if not self.who.may("channels.deploy") or self.place is None:
            return
        if self.vault.remove(self.place, name):
            self.who.record("secret.remove", f"{self.place}/{name}")
        self._show_secrets()

    def refresh(self) -> None:
        self.rows.clear()
        with self.rows:
            found = [d for d in self.store.deployments() if self.who.sees_flow(d.flow_id)]
            if not found:
                ui.label(_("Nothing deployed yet."))
            for d in found:
                self._row(d)
        self.dead.clear()
        with self.dead:
            mine = {(d.channel, d.account) for d in self.store.deployments() if self.who.sees_flow(d.flow_id)}
            everything = self.who.principal.workspaces is None  # owners and admins: also a removed channel's
            letters = [x for x in self.store.dead_letters() if everything or (x.channel, x.account) in mine]
            if letters:
                undelivered = n_(
                    "{count} message(s) could not be delivered",
                    "{count} message(s) could not be delivered",
                    len(letters),
                )
                ui.label(undelivered).classes("text-lg font-medium mt-4")
            for letter in letters:
                with ui.row().classes("items-center gap-2").mark(f"dead-{letter.id}"):
                    said = _(
                        "{channel}/{account} → chat {chat}: {error}",
                        channel=letter.channel,
                        account=letter.account,
                        chat=letter.chat,
                        error=letter.last_error,
                    )
                    ui.label(said).classes("text-sm")
                    again = ui.button(_("Send again"), on_click=lambda _, i=letter.id: self._revive(i))
                    again.props("flat dense").mark(f"revive-{letter.id}")

    def _row(self, d: Any) -> None:
        channel, account = d.channel, d.account
        versions = [v.version for v in self.builder.flows.versions(d.flow_id)]
        url = f"{self.base}/hooks/{channel}/{account}"
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.last_event_at)) if d.last_event_at else _("never")
        with ui.card().classes("w-full max-w-3xl").mark(f"deployment-{channel}-{account}"):
            with ui.row().classes("w-full items-center gap-3"):
                ui.label(f"{channel} / {account}").classes("text-lg font-medium")
                ui.label(f"{d.flow_id}").classes("text-gray-600")
                picker = ui.select(versions, value=d.version, label=_("Version")).classes("w-28")
                picker.mark(f"version-{account}").on_value_change(lambda _, p=picker: self._switch(channel, account, p))
                ui.space()
                ui.switch(
                    _("Answering"),
                    value=not d.paused,
                    on_change=lambda e: self._pause(channel, account, not e.value),
                ).mark(f"answering-{account}")
            if channel == "web":
                snippet = f'<script src="{self.base}/widget/{account}.js" async></script>'
                ui.label(_("Paste into your website:")).classes("text-sm")
                ui.code(snippet, language="html").classes("w-full").mark(f"snippet-{account}")
                preview = ui.link(_("Open the preview page"), f"/widget/{account}/preview", new_tab=True)
                preview.mark(f"preview-{account}")
            else:
                ui.label(_("Webhook address: {url}", url=url)).classes("text-sm font-mono").mark(f"webhook-{account}")
            kind = KINDS.get(channel)
            if kind is not None and kind.shows_verify_token:
                opened = self.store.deployment(channel, account)
                token = opened.credentials.get(kind.generated, "") if opened else ""
                ui.label(_("Verify token: {token}", token=token)).classes("text-sm font-mono").mark(f"verify-{account}")
                ui.label(_("Paste both into your Meta app's Webhooks settings.")).classes("text-sm")
            elif channel == "slack":
                ui.label(
                    _("Paste the address as the Request URL of Event Subscriptions and of Interactivity.")
                ).classes("text-sm")
            waiting = self.store.pending_count(channel, account)
            health = _("Last event: {seen} · messages waiting: {waiting}", seen=seen, waiting=waiting)
            if d.last_error:
                health += _(" · last error: {error}", error=d.last_error)
            ui.label(health).classes("text-sm text-gray-600").mark(f"health-{account}")
            if channel == "telegram":
                with ui.row().classes("items-end gap-2"):
                    public = ui.input(_("This server's public https address"), value=self.base).classes("w-96")
                    ui.button(
                        _("Register with Telegram"), on_click=lambda: self._register(channel, account, public.value)
                    ).props("outline").mark(f"register-{account}")

    async def _deploy(self) -> None:
        if not self.who.may("channels.deploy"):
            return
        channel, account, flow_id = self.kind.value, (self.account.value or "").strip(), self.flow.value
        if not ACCOUNT.match(account):
            ui.notify(_("The name is {rule}.", rule=_(ACCOUNT_RULE)), type="warning")
            return
        if not flow_id:
            ui.notify(_("Choose a published flow."), type="warning")
            return
        kind, inputs = KINDS[channel], self.secrets[channel]
        existing = self.store.deployment(channel, account)
        if not self.who.sees_flow(flow_id) or (existing is not None and not self.who.sees_flow(existing.flow_id)):
            said = _(
                "The name “{account}” is taken on {channel} by another workspace.",
                account=account,
                channel=_(kind.title),
            )
            ui.notify(said, type="warning")
            return
        try:
            sealed = credentials(
                kind, {k: i.value or "" for k, i in inputs.items()}, existing.credentials if existing else None
            )
        except MissingCredential as exc:
            ui.notify(str(exc), type="warning")
            return
        version = self.builder.flows.latest_version(flow_id)
        api_base = (self.api_base.value or "").strip() if channel != "web" else ""
        self.store.deploy(channel, account, flow_id, version, sealed, api_base=api_base)
        changed = sorted(k for k, i in inputs.items() if i.value)  # which secrets were set: names, never values
        self.who.record(
            "channel.deploy", f"{channel}/{account}", {"flow": flow_id, "version": version, "secrets_set": changed}
        )
        await self.channels.forget(channel, account)
        for field in inputs.values():
            field.value = ""  # never kept in the page
        said = _(
            "{channel} “{account}” answers with {flow} version {version}.",
            channel=_(kind.title),
            account=account,
            flow=flow_id,
            version=version,
        )
        ui.notify(said, type="positive")
        self.refresh()

    def _switch(self, channel: str, account: str, picker: ui.select) -> None:
        d = self.store.deployment(channel, account)
        version = int(picker.value)
        if d is None or d.version == version:
            return

        async def choose(choice: str | None) -> None:
            allowed = choice is not None and self.who.may("channels.deploy")
            dialog.delete()  # made for this one choice
            if choice is None or not allowed:
                picker.set_value(d.version)  # nothing changed
                return
            self.who.record("channel.switch", f"{channel}/{account}", {"version": version, "running": choice})
            moved, stayed = await self.channels.switch(channel, account, version, move=choice == "move")
            said = _("New conversations on {account} use version {version}", account=account, version=version)
            if choice == "move":
                said += n_("; {count} running conversation(s) moved", "; {count} running conversation(s) moved", moved)
                if stayed:
                    said += n_(
                        ", {count} finishes on its version (the step it waits at is not in version {version})",
                        ", {count} finish on their version (the step they wait at is not in version {version})",
                        stayed,
                        version=version,
                    )
            else:
                said += _("; running ones finish on theirs")
            ui.notify(said + ".")

        with named_dialog(_("Switch versions")).props("persistent") as dialog, ui.card().mark("switch-dialog"):
            said = _("{account} answers with version {version} from now on.", account=account, version=version)
            ui.label(said).classes("font-medium")
            ui.label(_("New conversations start on it. The conversations running now:"))
            with ui.row():
                finish = _("Finish on version {version}", version=d.version)
                ui.button(finish, on_click=lambda: choose("finish")).props("outline").mark("switch-finish")
                ui.button(_("Move to version {version}", version=version), on_click=lambda: choose("move")).mark(
                    "switch-move"
                )
                ui.button(_("Cancel"), on_click=lambda: choose(None)).props("flat").mark("switch-cancel")
        dialog.open()

    async def _pause(self, channel: str, account: str, paused: bool) -> None:
        if not self.who.may("channels.deploy"):
            return
        self.who.record("channel.pause" if paused else "channel.resume", f"{channel}/{account}")
        self.store.set_paused(channel, account, paused)
        await self.channels.forget(channel, account)
        if paused:
            ui.notify(_("{account} paused: messages are acknowledged and dropped.", account=account))
        else:
            ui.notify(_("{account} answers again.", account=account))

    async def _register(self, channel: str, account: str, public: str) -> None:
        found = self.channels.adapter(channel, account)
        if found is None or not hasattr(found[1], "set_webhook") or not self.who.may("channels.deploy"):
            return
        url = f"{(public or '').rstrip('/')}/hooks/{channel}/{account}"
        try:
            await found[1].set_webhook(url)
        except Exception as exc:  # noqa: BLE001 - the platform refused or is unreachable: say so
            reason = found[1].redact(exc) if hasattr(found[1], "redact") else type(exc).__name__
            ui.notify(_("Telegram did not take {url}: {reason}", url=url, reason=reason), type="negative")
            return
        ui.notify(_("Telegram sends updates to {url}.", url=url), type="positive")

    def _revive(self, row_id: int) -> None:
        if not self.who.may("channels.deploy"):
            return
        self.store.revive(row_id)
        self.channels.nudge()
        ui.notify(_("It will be sent again."))
        self.refresh()


def _base_url() -> str:
    try:
        return str(ui.context.client.request.base_url).rstrip("/")
    except (AttributeError, RuntimeError):
        return ""

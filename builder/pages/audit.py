"""The audit log: who did what, when, from where; filtered, and exported as CSV (which is recorded too)."""

from __future__ import annotations

import time
from datetime import datetime

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import Visitor, enter
from builder.context import Builder
from builder.i18n import N_, _
from builder.pages.account import header
from runtime.audit import Entry, as_csv

SHOWN = 200
# what each recorded action means, as the page says it (the CSV export keeps the codes, for programs)
ACTIONS = {  # translated where they are shown
    "login": N_("signed in"),
    "login.failed": N_("failed to sign in"),
    "login.locked": N_("sign-in blocked after failures"),
    "login.sso": N_("signed in with single sign-on"),
    "login.sso_failed": N_("single sign-on failed"),
    "logout": N_("signed out"),
    "account.create": N_("created an account"),
    "account.create_owner": N_("created the owner account"),
    "account.disable": N_("disabled an account"),
    "account.password_change": N_("changed a password"),
    "account.reset_password": N_("reset a password"),
    "account.role": N_("changed a role"),
    "account.sign_out_everywhere": N_("signed out everywhere"),
    "token.create": N_("created an API token"),
    "token.revoke": N_("revoked an API token"),
    "workspace.create": N_("created a workspace"),
    "workspace.member_add": N_("added a workspace member"),
    "flow.publish": N_("published a flow"),
    "flow.delete": N_("deleted a flow"),
    "channel.deploy": N_("put a flow on a channel"),
    "channel.pause": N_("paused or resumed a channel"),
    "channel.switch": N_("moved a channel to another version"),
    "secret.set": N_("set a secret"),
    "secret.remove": N_("removed a secret"),
    "model.save": N_("saved an AI model"),
    "model.remove": N_("removed an AI model"),
    "outbound.allow": N_("allowed a private address"),
    "outbound.disallow": N_("removed an allowed private address"),
    "conversations.export": N_("exported conversations"),
    "privacy.export": N_("exported a person's data"),
    "privacy.erase": N_("erased a person's data"),
    "retention.set": N_("set how long data is kept"),
    "retention.sweep": N_("deleted data past its retention"),
    "audit.export": N_("exported the audit log"),
}


def _plain(value: object) -> str:
    """A detail's value without Python's brackets and quotes."""
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    return str(value)


def action_words(code: str) -> str:
    """A recorded action in words; an action this list does not know is shown as recorded."""
    return _(ACTIONS[code]) if code in ACTIONS else code


def register(builder: Builder) -> None:
    @ui.page("/audit")
    def audit(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        AuditPage(who)
        return None


class AuditPage:
    def __init__(self, who: Visitor) -> None:
        self.who, self.log = who, who.access.audit
        header(_("Audit log"), who)
        with ui.row().classes("items-end gap-2"):
            self.actor = ui.input(_("Who (email)")).classes("w-64").mark("actor")
            actions = {"": _("anything")} | {code: action_words(code) for code in ACTIONS}
            self.action = ui.select(actions, value="", label=_("What"), with_input=True).classes("w-72").mark("action")
            ui.button(_("Filter"), icon="filter_list", on_click=self.refresh).mark("filter")
            ui.button(_("Export as CSV"), icon="download", on_click=self._export).props("outline").mark("export")
        names = {
            "at": _("When"),
            "actor": _("Who"),
            "action": _("What"),
            "target": _("On"),
            "detail": _("Detail"),
            "address": _("From"),
        }
        columns = [{"name": k, "label": label, "field": k, "align": "left"} for k, label in names.items()]
        self.table = ui.table(columns=columns, rows=[], row_key="id").classes("w-full").mark("entries")
        self.refresh()

    def _entries(self, limit: int) -> list[Entry]:
        return self.log.entries(
            actor=self.actor.value or None, action=(self.action.value or "").strip() or None, limit=limit
        )

    def refresh(self) -> None:
        if not self.who.may("audit.read"):
            return
        self.table.rows = [
            {
                "id": e.id,
                "at": datetime.fromtimestamp(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor,
                "action": action_words(e.action),
                "target": e.target,
                "detail": "; ".join(f"{k.replace('_', ' ')}: {_plain(v)}" for k, v in e.detail.items()),
                "address": e.address,
            }
            for e in self._entries(SHOWN)
        ]
        self.table.update()

    def _export(self) -> None:
        if not self.who.may("audit.read"):
            return
        entries = self._entries(10_000)
        self.who.record("audit.export", detail={"entries": len(entries), "format": "csv"})
        ui.download.content(as_csv(entries).encode(), time.strftime("audit-%Y%m%d-%H%M%S.csv"), "text/csv")

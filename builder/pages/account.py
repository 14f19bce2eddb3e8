"""The signed-in person's own account: change the password, sign out everywhere, and API tokens.

A token is shown once, when made; the server keeps only its hash. Its rights are the ones chosen
here, and never more than the account's role holds at the time it is used.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import Visitor, account_menu, enter
from builder.context import Builder
from builder.i18n import _
from runtime.access import RIGHTS, SIGNED_IN
from runtime.accounts import AccountError


def register(builder: Builder) -> None:
    @ui.page("/account")
    def account(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        AccountPage(who)
        return None


def header(title: str, who: Visitor) -> None:
    with ui.row().classes("w-full items-center"):
        ui.link(_("← Flows"), "/")
        ui.label(title).classes("text-2xl font-medium")
        ui.space()
        account_menu(who)


def when(at: float | None) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M") if at else _("never")


class AccountPage:
    def __init__(self, who: Visitor) -> None:
        self.who, self.accounts = who, who.access.accounts
        header(_("Your account"), who)
        ui.label(f"{who.email} · {_(who.principal.user.role)}").mark("whoami")
        with ui.card().classes("w-full max-w-xl"):
            ui.label(_("Change your password")).classes("text-lg font-medium")
            self.old = ui.input(_("Current password"), password=True).classes("w-80").mark("old-password")
            self.new = (
                ui.input(_("New password (12 characters or more)"), password=True).classes("w-80").mark("new-password")
            )
            self.again = ui.input(_("The new password again"), password=True).classes("w-80").mark("again-password")
            with ui.row():
                ui.button(_("Change the password"), on_click=self._change).mark("change-password")
                ui.button(_("Sign out everywhere"), on_click=self._everywhere).props("outline").mark("sign-out-all")
        with ui.card().classes("w-full max-w-3xl"):
            ui.label(_("API tokens")).classes("text-lg font-medium")
            ui.label(
                _(
                    "For programs that use the HTTP API: send it as “Authorization: Bearer <token>”. It can do only "
                    "what you choose here, and never more than your role."
                )
            ).classes("text-sm text-gray-600")
            with ui.row().classes("items-end gap-2"):
                self.name = ui.input(_("Name"), placeholder=_("CRM sync")).mark("token-name")
            held = [r for r in RIGHTS if who.can(r)]
            self.scopes = {r: ui.checkbox(f"{r}: {_(RIGHTS[r])}", value=r == "chat").mark(f"scope-{r}") for r in held}
            ui.button(_("Make a token"), icon="key", on_click=self._make).mark("make-token")
            self.list = ui.column().classes("w-full gap-1").mark("tokens")
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        with self.list:
            tokens = self.accounts.tokens(self.who.principal.user.id)
            if not tokens:
                ui.label(_("No tokens yet."))
            for t in tokens:
                with ui.row().classes("w-full items-center gap-3 border-b py-1").mark(f"token-{t.id}"):
                    ui.label(t.name).classes("font-medium w-40")
                    ui.label(f"clt_{t.id}_…").classes("font-mono text-sm w-32")
                    ui.label(", ".join(t.scopes)).classes("text-sm grow")
                    used = _("made {made} · last used {used}", made=when(t.created_at), used=when(t.last_used_at))
                    ui.label(used).classes("text-sm")
                    if t.revoked:
                        ui.badge(_("revoked")).props("color=grey")
                    else:
                        ui.button(_("Revoke"), on_click=lambda _, i=t.id: self._revoke(i)).props("flat dense").mark(
                            f"revoke-{t.id}"
                        )

    def _change(self) -> None:
        if not self.who.may(SIGNED_IN):
            return
        if self.new.value != self.again.value:
            ui.notify(_("The two new passwords differ."), type="warning")
            return
        try:
            self.accounts.change_password(self.who.principal.user.id, self.old.value or "", self.new.value or "")
        except AccountError as exc:
            ui.notify(str(exc), type="warning")
            return
        finally:
            self.old.value = self.new.value = self.again.value = ""
        self.who.record("account.password_change", self.who.email)
        ui.notify(_("Your password is changed; every session ended. Sign in with the new one."), type="positive")
        ui.navigate.to("/login")

    def _everywhere(self) -> None:
        if not self.who.may(SIGNED_IN):
            return
        count = self.accounts.revoke_all(self.who.principal.user.id)
        self.who.record("account.sign_out_everywhere", self.who.email, {"sessions": count})
        ui.navigate.to("/login")

    def _make(self) -> None:
        if not self.who.may(SIGNED_IN):
            return
        chosen = [r for r, box in self.scopes.items() if box.value and self.who.can(r)]
        try:
            token, text = self.accounts.create_token(self.who.principal.user.id, self.name.value or "", chosen)
        except AccountError as exc:
            ui.notify(str(exc), type="warning")
            return
        self.who.record("token.create", token.id, {"name": token.name, "scopes": list(token.scopes)})
        self.name.value = ""
        with ui.dialog(value=True) as dialog, ui.card().classes("w-[36rem]").mark("new-token"):
            ui.label(_("Your new token. Copy it now: it is not shown again.")).classes("font-medium")
            ui.code(text).classes("w-full").mark("token-text")
            ui.button(_("Done"), on_click=dialog.close).mark("token-done")
        self.refresh()

    def _revoke(self, token_id: str) -> None:
        if not self.who.may(SIGNED_IN):
            return
        if self.accounts.revoke_token(token_id, self.who.principal.user.id):
            self.who.record("token.revoke", token_id)
            ui.notify(_("Revoked: programs using it are refused from now on."))
        self.refresh()

"""Accounts: add people with a role, change roles, disable an account, reset a password; workspaces,
their members and the private addresses their flows may reach.

Only an owner makes or changes owners; an admin manages everyone else. A new account's first
password and a reset password are made here and shown once, to hand over; the person changes it
on their account page. Every change is recorded in the audit log.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import Visitor, enter
from builder.context import Builder
from builder.i18n import _
from builder.pages.account import header
from runtime.access import ROLE_WORDS
from runtime.accounts import ROLES, AccountError, Role, User
from runtime.outbound.addresses import AllowanceError
from runtime.workspace_outbound import WorkspaceOutbound
from runtime.workspaces import DEFAULT, EVERYWHERE, Workspace, WorkspaceError


def register(builder: Builder) -> None:
    @ui.page("/users")
    def users(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        UsersPage(who)
        return None


class UsersPage:
    def __init__(self, who: Visitor) -> None:
        self.who, self.accounts, self.spaces = who, who.access.accounts, who.access.workspaces
        self.outbound = WorkspaceOutbound(who.access.engine)
        header(_("Users"), who)
        with ui.card().classes("w-full max-w-3xl"):
            ui.label(_("Add an account")).classes("text-lg font-medium")
            with ui.row().classes("items-end gap-2"):
                self.email = ui.input(_("Email")).classes("w-64").mark("new-email")
                self.name = ui.input(_("Name")).mark("new-name")
                self.role = ui.select(self._roles(), value="editor", label=_("Role")).classes("w-64").mark("new-role")
                self.place = ui.select({w.id: w.name for w in self.spaces.all()}, value=DEFAULT, label=_("Workspace"))
                self.place.classes("w-48").mark("new-workspace")
            ui.button(_("Add"), icon="person_add", on_click=self._add).mark("add-user")
        with ui.card().classes("w-full max-w-3xl"):
            ui.label(_("Workspaces")).classes("text-lg font-medium")
            ui.label(
                _(
                    "Each holds its own flows, and with them their channels, conversations and analytics. Owners and "
                    "admins see every workspace; the others see those they are members of."
                )
            ).classes("text-sm text-gray-600")
            self.workspace_list = ui.label().mark("workspaces")
            with ui.row().classes("items-end gap-2"):
                self.workspace_name = ui.input(_("New workspace")).mark("workspace-name")
                ui.button(_("Make"), on_click=self._make_workspace).props("outline").mark("make-workspace")
            ui.label(_("Private addresses flows may reach")).classes("font-medium pt-2")
            ui.label(
                _(
                    "HTTP steps reach public web addresses only. To let a workspace's flows call a service on your own "
                    "network (an intranet CRM), allow its network (10.20.0.0/16), address (192.168.1.20:8443) or host "
                    "name (crm.intranet, *.corp.example). Cloud metadata services are never reachable."
                )
            ).classes("text-sm text-gray-600")
            self.outbound_list = ui.column().classes("gap-1").mark("outbound")
            with ui.row().classes("items-end gap-2"):
                spaces = {w.id: w.name for w in self.spaces.all()}
                self.outbound_place = ui.select(spaces, value=DEFAULT, label=_("Workspace")).classes("w-48")
                self.outbound_place.mark("outbound-workspace")
                self.outbound_entry = ui.input(_("Address, network or host name"), placeholder="10.20.0.0/16")
                self.outbound_entry.classes("w-72").mark("outbound-entry")
                ui.button(_("Allow"), on_click=self._allow_outbound).props("outline").mark("allow-outbound")
        self.list = ui.column().classes("w-full max-w-5xl gap-1").mark("users")
        self.refresh()

    def _roles(self) -> dict[str, str]:
        """The roles this visitor may give: an admin cannot make owners."""
        mine = self.who.principal.user.role
        return {r: f"{_(r)}: {_(ROLE_WORDS[r])}" for r in ROLES if r != "owner" or mine == "owner"}

    def _may_touch(self, user: User) -> bool:
        return user.role != "owner" or self.who.principal.user.role == "owner"

    def refresh(self) -> None:
        spaces = self.spaces.all()
        self.workspace_list.text = ", ".join(f"{w.name} ({w.id})" for w in spaces)
        self._show_outbound(spaces)
        self.list.clear()
        with self.list:
            for u in self.accounts.users():
                with ui.row().classes("w-full items-center gap-3 border-b py-1").mark(f"user-{u.email}"):
                    ui.label(u.email).classes("font-medium w-64")
                    ui.label(u.name).classes("w-40")
                    if self._may_touch(u) and u.id != self.who.principal.user.id:
                        role = ui.select(self._roles(), value=u.role).classes("w-64").mark(f"role-{u.email}")
                        role.on_value_change(lambda e, user=u: self._set_role(user, e.value))
                        ui.switch(
                            _("Disabled"), value=u.disabled, on_change=lambda e, user=u: self._disable(user, e.value)
                        ).mark(f"disabled-{u.email}")
                        ui.button(_("Reset password"), on_click=lambda _, user=u: self._reset(user)).props(
                            "flat dense"
                        ).mark(f"reset-{u.email}")
                        if u.role in EVERYWHERE:
                            ui.label(_("every workspace")).classes("text-sm text-gray-600")
                        else:
                            ui.select(
                                {w.id: w.name for w in spaces},
                                value=sorted(self.spaces.of_user(u.id)),
                                multiple=True,
                                label=_("Workspaces"),
                                on_change=lambda e, user=u: self._members(user, e.value or []),
                            ).classes("w-64").mark(f"workspaces-{u.email}")
                    else:
                        you = u.id == self.who.principal.user.id
                        ui.label(_("{role} (you)", role=_(u.role)) if you else _(u.role)).classes("w-64")

    def _show_outbound(self, spaces: list[Workspace]) -> None:
        self.outbound_place.set_options({w.id: w.name for w in spaces}, value=self.outbound_place.value or DEFAULT)
        self.outbound_list.clear()
        with self.outbound_list:
            for w in spaces:
                entries = self.outbound.entries(w.id)
                if not entries:
                    continue
                with ui.row().classes("items-center gap-2"):
                    ui.label(w.name).classes("text-sm w-40")
                    for entry in entries:
                        with (
                            ui.row().classes("items-center gap-0 border rounded px-2").mark(f"outbound-{w.id}-{entry}")
                        ):
                            ui.label(entry).classes("text-sm font-mono")
                            remove = ui.button(icon="close", on_click=lambda _, p=w.id, e=entry: self._disallow(p, e))
                            remove.props("flat dense").mark(f"disallow-{w.id}-{entry}")

    def _allow_outbound(self) -> None:
        if not self.who.may("users.manage"):
            return
        place = str(self.outbound_place.value or DEFAULT)
        before = set(self.outbound.entries(place))
        try:
            entry = self.outbound.allow(place, self.outbound_entry.value or "")
        except (AllowanceError, WorkspaceError) as exc:
            ui.notify(str(exc), type="warning")
            return
        if entry not in before:
            self.who.record("outbound.allow", place, {"entry": entry})
        self.outbound_entry.value = ""
        ui.notify(_("Flows in this workspace may now reach {entry}.", entry=entry))
        self.refresh()

    def _disallow(self, place: str, entry: str) -> None:
        if not self.who.may("users.manage"):
            return
        if self.outbound.remove(place, entry):
            self.who.record("outbound.disallow", place, {"entry": entry})
            ui.notify(_("Flows in this workspace can no longer reach {entry}.", entry=entry))
        self.refresh()

    def _make_workspace(self) -> None:
        if not self.who.may("users.manage"):
            return
        try:
            made = self.spaces.create(self.workspace_name.value or "")
        except WorkspaceError as exc:
            ui.notify(str(exc), type="warning")
            return
        self.who.record("workspace.create", made.id, {"name": made.name})
        self.workspace_name.value = ""
        ui.notify(_("Made the workspace “{name}”.", name=made.name))
        self.refresh()

    def _members(self, user: User, chosen: list[str]) -> None:
        if not self._allowed(user):
            return
        for w in self.spaces.all():
            if self.spaces.set_member(w.id, user.id, w.id in chosen):
                self.who.record("workspace.member_add" if w.id in chosen else "workspace.member_remove", user.email,
                                {"workspace": w.id})  # fmt: skip

    def _handover(self, email: str, password: str) -> None:
        with ui.dialog(value=True) as dialog, ui.card().mark("handover"):
            ui.label(
                _(
                    "The password for {email}, shown once. Hand it over safely; they change it after signing in.",
                    email=email,
                )
            )
            ui.code(password).classes("w-full").mark("handover-password")
            ui.button(_("Done"), on_click=dialog.close)

    def _allowed(self, user: User | None, role: str | None = None) -> bool:
        if not self.who.may("users.manage"):
            return False
        if (user is not None and not self._may_touch(user)) or (
            role == "owner" and self.who.principal.user.role != "owner"
        ):
            ui.notify(_("Only an owner can make or change owners."), type="warning")
            return False
        return True

    def _add(self) -> None:
        role = str(self.role.value)
        if not self._allowed(None, role):
            return
        password = secrets.token_urlsafe(12)
        try:
            user = self.accounts.create(self.email.value or "", password, role, self.name.value or "")  # type: ignore[arg-type]
        except AccountError as exc:
            ui.notify(str(exc), type="warning")
            return
        place = str(self.place.value or DEFAULT)
        self.spaces.set_member(place, user.id, True)
        self.who.record("account.create", user.email, {"role": role, "workspace": place})
        self.email.value = self.name.value = ""
        self._handover(user.email, password)
        self.refresh()

    def _set_role(self, user: User, role: Role) -> None:
        if role == user.role:
            return
        if self._allowed(user, role):
            try:
                self.accounts.set_role(user.id, role)
            except AccountError as exc:
                ui.notify(str(exc), type="warning")
            else:
                self.who.record("account.role", user.email, {"from": user.role, "to": role})
                ui.notify(_("{email} is now {role}.", email=user.email, role=_(role)))
        self.refresh()

    def _disable(self, user: User, disabled: bool) -> None:
        if disabled != user.disabled and self._allowed(user):
            try:
                self.accounts.set_disabled(user.id, disabled)
            except AccountError as exc:
                ui.notify(str(exc), type="warning")
            else:
                self.who.record("account.disable" if disabled else "account.enable", user.email)
        self.refresh()

    def _reset(self, user: User) -> None:
        if not self._allowed(user):
            return
        password = secrets.token_urlsafe(12)
        self.accounts.reset_password(user.id, password)
        self.who.record("account.reset_password", user.email)
        self._handover(user.email, password)

"""The builder's side of access control: the rule of every page, the signed-in visitor, the account menu.

Every page starts with `enter(builder, request)`: it finds the page's rule in the same table the
access gate uses (runtime.access.Rules) and answers a redirect to the sign-in page, or a refusal,
instead of the page. Every action that changes something first asks `visitor().may(right)`, which
reads the session again (a session revoked a second ago stops the next click) and says in a
notification why not. Controls a visitor may not use are not drawn at all: NiceGUI dispatches an
event only to an element that exists for that browser tab, so a hidden button cannot be clicked by a
forged message either.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from nicegui import app, ui

from builder.context import Builder
from builder.i18n import N_, _, html_language
from runtime.access import COOKIE, SIGNED_IN, Access, Need, Principal, Rules, client_address, refusal
from runtime.workspaces import Workspace

# The builder's pages and the rule of each; registered into the gate's table by add_rules.
PAGES: dict[str, Need] = {
    "/": "flows.read",
    "/flows/{flow_id}": "flows.read",
    "/flows/{flow_id}/versions": "flows.read",
    "/flows/{flow_id}/knowledge": "flows.read",
    "/templates": "flows.edit",
    "/deployments": "channels.deploy",
    "/models": "models.read",
    "/account": SIGNED_IN,
    "/users": "users.manage",
    "/audit": "audit.read",
    "/privacy": "privacy.manage",
    "/conversations": "conversations.read",
}
# NiceGUI's own addresses: its scripts, uploads and the page's socket. Only for a signed-in person.
NICEGUI: dict[str, tuple[str, ...]] = {
    "/_nicegui/{rest:path}": ("GET", "POST"),
    "/_nicegui_ws/{rest:path}": ("GET", "POST", "WS"),
    "/_chatloom/{rest:path}": ("GET",),
}
MENU: list[tuple[str, str, Need, str]] = [  # (label, address, rule, marker) in the account menu
    (N_("Users"), "/users", "users.manage", "menu-users"),
    (N_("Audit log"), "/audit", "audit.read", "menu-audit"),
    (N_("Privacy and data"), "/privacy", "privacy.manage", "menu-privacy"),
    (N_("Account and API tokens"), "/account", SIGNED_IN, "menu-account"),
]


def add_rules(rules: Rules) -> None:
    for path, need in PAGES.items():
        rules.add(path, ["GET"], need)
    for path, methods in NICEGUI.items():
        rules.add(path, methods, SIGNED_IN)


@dataclass
class Visitor:
    """The person behind one browser tab."""

    access: Access
    token: str  # their session, read again before each action
    principal: Principal
    address: str

    @property
    def email(self) -> str:
        return self.principal.user.email

    def can(self, need: Need) -> bool:
        """Whether to draw a control (the action checks again with `may`)."""
        return self.principal.may(need)

    def may(self, need: Need) -> bool:
        """Before an action: the session is still live and its role holds the right; else say why."""
        principal = self.access.from_session(self.token)
        if principal is None:
            ui.notify(_("Your session has ended; sign in again."), type="warning")
            ui.navigate.to("/login")
            return False
        self.principal = principal
        if not principal.may(need):
            ui.notify(refusal(principal, need), type="warning")
            return False
        return True

    def workspaces(self) -> list[Workspace]:
        """The workspaces this visitor sees, in the order they were made."""
        return [w for w in self.access.workspaces.all() if self.principal.sees(w.id)]

    def workspace(self) -> str | None:
        """The workspace this visitor works in (chosen on the flow list; kept per browser); None: no workspace."""
        mine = [w.id for w in self.workspaces()]
        chosen = app.storage.user.get("workspace")
        return chosen if chosen in mine else (mine[0] if mine else None)

    def choose(self, workspace_id: str) -> None:
        if self.principal.sees(workspace_id):
            app.storage.user["workspace"] = workspace_id

    def sees_flow(self, flow_id: str) -> bool:
        return self.principal.sees(self.access.workspaces.of_flow(flow_id))

    def record(self, action: str, target: str = "", detail: Mapping[str, object] | None = None) -> None:
        """Write an action to the audit log under this visitor's name."""
        self.access.audit.record(self.email, action, target, detail, self.address)


def enter(builder: Builder, request: Request) -> Visitor | Response:
    """The visitor of a page, or the answer instead of the page (sign in first, or not allowed)."""
    rule = builder.access.rules.find("GET", request.url.path)
    need = rule.need if rule else SIGNED_IN
    token = request.cookies.get(COOKIE, "")
    principal = builder.access.from_session(token) if token else None
    if principal is None:
        return RedirectResponse("/login?next=" + request.url.path, status_code=303)
    if not principal.may(need):
        return _said(refusal(principal, need), 403)
    if not builder.access.sees(principal, rule, request.url.path):
        return _said(_("There is no such flow in your workspaces."), 404)
    visitor = Visitor(builder.access, token, principal, client_address(request.scope))
    app.storage.client["visitor"] = visitor
    return visitor


def _said(words: str, status: int) -> HTMLResponse:
    page = (
        f'<!doctype html><html lang="{html_language()}"><meta charset="utf-8"><title>Chatloom</title>'
        f'<p>{html.escape(words)}</p><a href="/">{html.escape(_("Back"))}</a>'
    )
    return HTMLResponse(page, status_code=status)


def visitor() -> Visitor:
    """The visitor of the page whose event is being handled."""
    found = app.storage.client.get("visitor")
    if not isinstance(found, Visitor):
        raise RuntimeError("a builder page was built without enter()")
    return found


def account_menu(who: Visitor) -> None:
    """The signed-in person, the pages their role opens, and signing out."""
    button = ui.button(icon="account_circle").props("flat dense").tooltip(f"{who.email} ({_(who.principal.user.role)})")
    button.props["aria-label"] = _("Your account: {email}", email=who.email)
    with button.mark("account-button"), ui.menu().mark("account-menu"):
        ui.menu_item(f"{who.email} · {_(who.principal.user.role)}").props("disable")
        for label, path, need, marker in MENU:
            if who.can(need):
                ui.menu_item(_(label), on_click=lambda _, p=path: ui.navigate.to(p)).mark(marker)
        ui.menu_item(_("Sign out"), on_click=lambda: sign_out(who)).mark("sign-out")


def sign_out(who: Visitor) -> None:
    who.access.accounts.logout(who.token)
    who.record("logout")
    ui.navigate.to("/login")


def written_matrix() -> str:
    """The permission matrix of every address, the runtime's and the builder's, as docs/permissions.md shows it."""
    from runtime.access import matrix_markdown, runtime_rules

    rules = runtime_rules()
    add_rules(rules)
    return matrix_markdown(rules)


def write_matrix(path: str = "docs/permissions.md") -> None:
    """Rewrite the generated part of the permission matrix (`python -m builder.access`)."""
    from pathlib import Path

    doc = Path(path)
    head, rest = doc.read_text().split("<!-- matrix -->\n", 1)
    tail = rest.split("<!-- /matrix -->", 1)[1]
    doc.write_text(f"{head}<!-- matrix -->\n{written_matrix()}<!-- /matrix -->{tail}")


if __name__ == "__main__":
    write_matrix()

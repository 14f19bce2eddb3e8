"""Every builder page and action for every role: who opens what, which controls each role gets,
and that an action re-reads the session (a revoked session stops the next click)."""

from __future__ import annotations

from pathlib import Path

import pytest
from nicegui.testing.user import User

from builder.access import PAGES
from builder.context import TEMPLATES, Builder
from flows.document import parse_flow
from runtime.access import COOKIE, ROLE_RIGHTS, SIGNED_IN
from runtime.accounts import ROLES, Role
from runtime.ai.setup import attach_ai
from tests.access import account, sign_in

# (page, marker of a control, the rule that control needs): the actions of each page
ACTIONS: list[tuple[str, str, str]] = [
    ("/", "new", "flows.edit"),
    ("/", "import", "flows.edit"),
    ("/", "rename-quiz", "flows.edit"),
    ("/", "delete-draft-only", "flows.edit"),  # a flow never published
    ("/", "delete-quiz", "flows.publish"),  # deleting published versions is publishing
    ("/", "templates", "flows.edit"),
    ("/", "deployments", "channels.deploy"),
    ("/", "models", "models.read"),
    ("/flows/quiz", "palette", "flows.edit"),
    ("/flows/quiz", "test-chat", "flows.edit"),
    ("/flows/quiz", "undo", "flows.edit"),
    ("/flows/quiz/versions", "publish", "flows.publish"),
    ("/flows/quiz/versions", "restore-1", "flows.edit"),
    ("/models", "save", "models.manage"),
    ("/models", "try-local", "flows.edit"),
    ("/", "conversations", "conversations.read"),
    ("/conversations", "export", "conversations.export"),
]
SAMPLES = {"{flow_id}": "quiz"}


def _path(template: str) -> str:
    for key, value in SAMPLES.items():
        template = template.replace(key, value)
    return template


@pytest.fixture
def flows(builder: Builder) -> Builder:
    builder.flows.save_draft(parse_flow((TEMPLATES / "quiz.json").read_bytes()))
    builder.flows.publish("quiz", builder.registry)
    draft = parse_flow((TEMPLATES / "faq_menu.json").read_bytes())
    builder.flows.save_draft(draft.model_copy(update={"id": "draft-only", "name": "Draft only"}))
    return builder


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_opens_the_pages_its_rights_allow(user: User, flows: Builder, role: Role) -> None:
    sign_in(user.http_client, flows.access, role)
    for template, need in PAGES.items():
        r = await user.http_client.get(_path(template))
        allowed = need == SIGNED_IN or need in ROLE_RIGHTS[role]
        assert r.status_code == (200 if allowed else 403), f"{role} {template}: {r.status_code}"
        if not allowed:
            assert f"Your role ({role}) may not" in r.text


async def test_nobody_signed_in_is_sent_to_sign_in(user: User, flows: Builder) -> None:
    user.http_client.cookies.clear()
    for template in PAGES:
        r = await user.http_client.get(_path(template))
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/"), template
    user.http_client.cookies.set(COOKIE, "a forged session")
    assert (await user.http_client.get("/")).status_code == 303


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_the_controls_of_its_rights(
    user: User, flows: Builder, role: Role, tmp_path: Path
) -> None:
    sign_in(user.http_client, flows.access, role)
    attach_ai(flows.runtime, tmp_path)  # the models page lists the built-in model
    for page in sorted({p for p, _, _ in ACTIONS}):
        rule = flows.access.rules.find("GET", page)
        assert rule is not None
        if rule.need not in ROLE_RIGHTS[role]:
            continue  # the page itself is refused (the test above)
        await user.open(page)
        for where, marker, need in ACTIONS:
            if where != page:
                continue
            shown = bool(user.find(marker=marker).elements) if _exists(user, marker) else False
            assert shown == (need in ROLE_RIGHTS[role]), f"{role} on {page}: {marker} shown={shown}"


def _exists(user: User, marker: str) -> bool:
    try:
        user.find(marker=marker)
    except AssertionError:
        return False
    return True


async def test_a_revoked_session_stops_the_next_action(user: User, flows: Builder) -> None:
    await user.open("/")
    token = user.http_client.cookies[COOKIE]
    flows.access.accounts.logout(token)  # e.g. signed out in another tab, or revoked by an admin
    user.find(marker="new").click()
    await user.should_see("Your session has ended; sign in again.")
    assert [f.id for f in flows.flows.list()] == ["draft-only", "quiz"]  # nothing was made


async def test_a_role_taken_away_stops_the_next_action(user: User, flows: Builder) -> None:
    editor = sign_in(user.http_client, flows.access, "editor")
    await user.open("/flows/quiz/versions")
    flows.access.accounts.set_role(editor.id, "viewer")
    user.find(marker="restore-1").click()
    await user.should_see("Your role (viewer) may not build and test flows")


async def test_publishing_is_recorded_in_the_audit_log(user: User, flows: Builder) -> None:
    sign_in(user.http_client, flows.access, "publisher")
    await user.open("/flows/quiz/versions")
    user.find(marker="publish").click()
    await user.should_see("Published version 2.")
    [entry] = flows.access.audit.entries(action="flow.publish")
    assert (entry.actor, entry.target, entry.detail) == ("publisher@chatloom.test", "quiz", {"version": 2})


async def test_an_admin_adds_an_account_but_cannot_make_owners(user: User, flows: Builder) -> None:
    sign_in(user.http_client, flows.access, "admin")
    account(flows.access, "viewer")
    await user.open("/users")
    roles = user.find(marker="new-role").elements.pop()
    assert "owner" not in roles.options  # type: ignore[attr-defined]
    user.find(marker="new-email").type("new@chatloom.test")
    user.find(marker="add-user").click()
    await user.should_see(marker="handover")
    made = flows.access.accounts.by_email("new@chatloom.test")
    assert made is not None and made.role == "editor"
    assert not _exists(user, "role-owner@chatloom.test")  # the owner's row has no controls for an admin
    entry = flows.access.audit.entries(action="account.create")[0]
    assert (entry.actor, entry.target) == ("admin@chatloom.test", "new@chatloom.test")


async def test_a_failing_page_shows_no_exception_to_the_browser(user: User, flows: Builder) -> None:
    from nicegui import ui

    @ui.page("/broken")
    def broken() -> None:
        raise RuntimeError("SELECT password_hash FROM users")  # what an exception might carry

    r = await user.http_client.get("/broken")
    assert r.status_code == 500 and "Something went wrong on our side." in r.text
    assert "password_hash" not in r.text and "RuntimeError" not in r.text and "Traceback" not in r.text

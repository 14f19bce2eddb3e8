"""Workspaces in the builder: a member works only in their workspaces; an admin makes workspaces
and chooses who is in them, and both land in the audit log."""

from __future__ import annotations

from nicegui.testing.user import User

from builder.context import TEMPLATES, Builder
from flows.document import parse_flow
from runtime.workspaces import DEFAULT
from tests.access import account, sign_in


async def test_a_member_works_only_in_their_workspace(user: User, builder: Builder) -> None:
    spaces = builder.access.workspaces
    acme = spaces.create("Acme")
    builder.flows.save_draft(parse_flow((TEMPLATES / "quiz.json").read_bytes()))  # the default workspace's
    editor = sign_in(user.http_client, builder.access, "editor")
    spaces.set_member(DEFAULT, editor.id, False)
    spaces.set_member(acme.id, editor.id, True)
    await user.open("/")
    await user.should_not_see(marker="flow-quiz")
    assert (await user.http_client.get("/flows/quiz")).status_code == 404
    user.find(marker="new").click()
    await user.should_see(marker="name")
    user.find(marker="name").type("Acme leads")
    user.find(marker="ok").click()
    await user.should_see(marker="flow-name")
    assert spaces.of_flow("acme-leads") == acme.id  # made where its maker works


async def test_an_admin_makes_a_workspace_and_its_members(user: User, builder: Builder) -> None:
    sign_in(user.http_client, builder.access, "admin")
    viewer = account(builder.access, "viewer")
    await user.open("/users")
    user.find(marker="workspace-name").type("Support team")
    user.find(marker="make-workspace").click()
    await user.should_see("Made the workspace “Support team”.")
    picker = user.find(marker="workspaces-viewer@chatloom.test").elements.pop()
    picker.value = ["support-team"]  # the person chosen into it, out of the default one
    assert builder.access.workspaces.of_user(viewer.id) == {"support-team"}
    actions = [(e.action, e.target) for e in builder.access.audit.entries(action="workspace")]
    assert ("workspace.create", "support-team") in actions
    assert ("workspace.member_add", "viewer@chatloom.test") in actions
    assert ("workspace.member_remove", "viewer@chatloom.test") in actions


async def test_an_admin_allows_a_workspace_s_flows_a_private_address_and_it_is_audited(
    user: User, builder: Builder
) -> None:
    from runtime.workspace_outbound import WorkspaceOutbound

    sign_in(user.http_client, builder.access, "admin")
    acme = builder.access.workspaces.create("Acme")
    stored = WorkspaceOutbound(builder.runtime.engine)
    await user.open("/users")
    user.find(marker="outbound-workspace").elements.pop().value = acme.id
    user.find(marker="outbound-entry").type("169.254.169.254")
    user.find(marker="allow-outbound").click()
    await user.should_see("metadata service; it can never be allowed")
    assert stored.entries(acme.id) == []  # refused: nothing kept, nothing audited
    user.find(marker="outbound-entry").clear().type("CRM.Intranet:8443")
    user.find(marker="allow-outbound").click()
    await user.should_see(marker="outbound-acme-crm.intranet:8443")
    assert stored.entries(acme.id) == ["crm.intranet:8443"] and stored.entries(DEFAULT) == []
    user.find(marker="disallow-acme-crm.intranet:8443").click()
    await user.should_not_see(marker="outbound-acme-crm.intranet:8443")
    assert stored.entries(acme.id) == []
    actions = [(e.actor, e.action, e.target, e.detail) for e in builder.access.audit.entries(action="outbound")]
    assert actions == [
        ("admin@chatloom.test", "outbound.disallow", "acme", {"entry": "crm.intranet:8443"}),
        ("admin@chatloom.test", "outbound.allow", "acme", {"entry": "crm.intranet:8443"}),
    ]


async def test_an_editor_cannot_open_the_page_that_allows_private_addresses(user: User, builder: Builder) -> None:
    sign_in(user.http_client, builder.access, "editor")
    assert (await user.http_client.get("/users")).status_code in (302, 303, 403)

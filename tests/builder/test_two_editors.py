"""Two people with one flow open: each sees who else is there and the other's changes at once; the
same field ends with the later edit and a notice to the other; undo takes back only one's own edits."""

from __future__ import annotations

from nicegui.testing.user import User

from builder.canvas import FlowCanvas
from builder.context import TEMPLATES, Builder
from flows.document import parse_flow

LEAD = parse_flow((TEMPLATES / "lead_capture.json").read_bytes())


def _nodes(user: User) -> set[str]:
    return {n["id"] for n in user.find(FlowCanvas).elements.pop().props["nodes"]}


async def test_each_sees_the_other_and_their_changes(two_users: tuple[User, User], builder: Builder) -> None:
    ada, bo = two_users
    builder.flows.save_draft(LEAD)
    await ada.open("/flows/lead-capture")
    await bo.open("/flows/lead-capture")
    await ada.should_see("also here")  # presence, both ways
    await bo.should_see("also here")

    ada.find(FlowCanvas).trigger("drop", {"type": "message.send", "x": 100, "y": 500})
    assert "send-1" in _nodes(bo)  # drawn in the other tab at once
    bo.find(FlowCanvas).trigger("remove", {"nodes": ["send-1"], "edges": []})
    assert "send-1" not in _nodes(ada)
    assert builder.flows.draft("lead-capture").node("send-1") is None


async def test_two_fields_of_one_step_both_stay_and_the_same_field_ends_with_the_later(
    two_users: tuple[User, User], builder: Builder
) -> None:
    ada, bo = two_users
    builder.flows.save_draft(LEAD)
    await ada.open("/flows/lead-capture")
    await bo.open("/flows/lead-capture")
    ada.find(FlowCanvas).trigger("select", {"nodes": ["email"], "edges": []})
    bo.find(FlowCanvas).trigger("select", {"nodes": ["email"], "edges": []})
    await ada.should_see(marker="field-prompt")
    await bo.should_see(marker="field-retries")
    ada.find(marker="field-prompt").clear().type("Your email?")
    bo.find(marker="field-retries").clear().type("4")
    email = builder.flows.draft("lead-capture").node("email")
    assert email is not None and email.settings["prompt"] == "Your email?" and email.settings["retries"] == 4

    bo.find(marker="field-prompt").clear().type("Email address?")  # the same field, later
    assert builder.flows.draft("lead-capture").node("email").settings["prompt"] == "Email address?"  # type: ignore[union-attr]
    with ada.scope(marker="notices"):  # the one whose change was replaced is told, until they close it
        await ada.should_see("editor@chatloom.test changed “Question” of “Ask for an email")
    with bo.scope(marker="notices"):
        await bo.should_not_see(marker="notice")


async def test_undo_takes_back_only_ones_own_edit(two_users: tuple[User, User], builder: Builder) -> None:
    ada, bo = two_users
    builder.flows.save_draft(LEAD)
    await ada.open("/flows/lead-capture")
    await bo.open("/flows/lead-capture")
    ada.find(FlowCanvas).trigger("drop", {"type": "message.send", "x": 100, "y": 500})
    bo.find(FlowCanvas).trigger("drop", {"type": "input.text", "x": 400, "y": 500})
    ada.find(marker="undo").click()  # Ada's step goes; Bo's stays
    draft = builder.flows.draft("lead-capture")
    assert draft.node("send-1") is None and draft.node("text-1") is not None
    assert "text-1" in _nodes(ada) and "send-1" not in _nodes(bo)
    ada.find(marker="redo").click()
    draft = builder.flows.draft("lead-capture")
    assert draft.node("send-1") is not None and draft.node("text-1") is not None

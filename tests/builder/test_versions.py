"""Publishing and version history in the builder."""

from __future__ import annotations

import pytest
from nicegui import ui
from nicegui.testing.user import User

from builder.context import TEMPLATES, Builder
from flows.document import dump_flow, parse_flow
from tests.builder.test_flow_list import record_file_names


def add_quiz(builder: Builder) -> None:
    builder.flows.save_draft(parse_flow((TEMPLATES / "quiz.json").read_bytes()))


async def test_publish_with_a_note_then_see_what_changed(user: User, builder: Builder) -> None:
    add_quiz(builder)
    await user.open("/flows/quiz/versions")
    await user.should_see("Not published yet.")
    user.find(marker="note").type("launch")
    user.find(marker="publish").click()
    await user.should_see(marker="version-1")
    await user.should_see("First version.")
    assert builder.flows.version("quiz").note == "launch"
    await user.should_see("Version 1 is live.")  # and where: the API, and the way to a channel
    await user.should_see("POST /api/flows/quiz/conversations")
    await user.should_see(marker="go-deploy")
    await user.should_see(marker="editor")  # a way back to the editor

    draft = builder.flows.draft("quiz")
    builder.flows.save_draft(
        draft.model_copy(
            update={
                "nodes": [n for n in draft.nodes if n.id != "perfect"],
                "edges": [e for e in draft.edges if e.target != "perfect"],
            }
        )
    )
    await user.open("/flows/quiz/versions")
    await user.should_see("Draft against version 1: 1 node removed (perfect); 1 connection removed.")
    user.find(marker="publish").click()
    await user.should_see(marker="version-2")
    await user.should_see("1 node removed (perfect); 1 connection removed.")


async def test_a_flow_with_errors_is_not_published_and_the_problems_are_listed(user: User, builder: Builder) -> None:
    add_quiz(builder)
    draft = builder.flows.draft("quiz")
    broken = draft.model_copy(update={"nodes": [*draft.nodes, draft.nodes[1].model_copy(update={"type": "acme.x"})]})
    builder.flows.save_draft(broken)
    await user.open("/flows/quiz/versions")
    user.find(marker="publish").click()
    await user.should_see("Not published: fix these first")
    await user.should_see("'acme.x' is not installed")
    assert builder.flows.versions("quiz") == []
    links = [link.props.get("href", "") for link in user.find(ui.link).elements]
    assert f"/flows/quiz?focus={broken.nodes[-1].id}" in links  # each problem opens its step


async def test_restore_a_version_as_the_draft(user: User, builder: Builder) -> None:
    add_quiz(builder)
    builder.flows.publish("quiz", builder.registry)
    builder.flows.save_draft(builder.flows.draft("quiz").model_copy(update={"name": "Changed"}))
    await user.open("/flows/quiz/versions")
    user.find(marker="restore-1").click()
    await user.should_see(marker="confirm-restore")
    user.find(marker="confirm-restore").click()
    await user.should_see("The draft is now version 1.")
    assert builder.flows.draft("quiz").name == "Quiz"


async def test_export_a_published_version(user: User, builder: Builder, monkeypatch: pytest.MonkeyPatch) -> None:
    add_quiz(builder)
    builder.flows.publish("quiz", builder.registry, note="first")
    builder.flows.save_draft(builder.flows.draft("quiz").model_copy(update={"name": "Quiz, second try"}))
    builder.flows.publish("quiz", builder.registry)
    builder.flows.save_draft(builder.flows.draft("quiz").model_copy(update={"name": "Unpublished"}))
    names = record_file_names(user, monkeypatch)
    await user.open("/flows/quiz/versions")
    user.find(marker="export-1").click()
    first = await user.download.next()
    user.find(marker="export-2").click()
    second = await user.download.next()
    assert names == ["quiz-version-1.json", "quiz-version-2.json"]
    for response, number in ((first, 1), (second, 2)):
        published = builder.flows.version("quiz", number).flow
        assert response.content == dump_flow(published).encode("utf-8")
        assert parse_flow(response.content) == published
    assert [parse_flow(r.content).name for r in (first, second)] == ["Quiz", "Quiz, second try"]


async def test_an_unknown_flow_says_so(user: User) -> None:
    await user.open("/flows/ghost/versions")
    await user.should_see("There is no flow 'ghost'.")

"""The flow list as a user works it: create, from template, import, search, duplicate, rename, delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing.user import User

from builder.context import TEMPLATES, Builder
from flows.document import dump_flow, parse_flow
from flows.models import Node

QUIZ = (TEMPLATES / "quiz.json").read_bytes()


async def test_an_empty_list_invites_to_create(user: User) -> None:
    await user.open("/")
    await user.should_see("No flows yet")


async def test_create_a_blank_flow(user: User, builder: Builder) -> None:
    await user.open("/")
    user.find(marker="new").click()
    await user.should_see(marker="name")
    user.find(marker="name").type("Lead capture")
    user.find(marker="ok").click()
    await user.should_see("Created “Lead capture”.")
    flow = builder.flows.draft("lead-capture")
    assert flow.name == "Lead capture" and flow.start == "start" and flow.nodes[0].type == "flow.start"
    await user.should_see(marker="palette")  # straight into the editor
    await user.should_see(marker="flow-name")


async def test_a_template_opens_as_a_new_flow_and_a_second_use_asks_first(user: User, builder: Builder) -> None:
    await user.open("/")
    user.find(marker="from-template").click()
    await user.should_see(marker="template-nps-survey")
    user.find(marker="template-nps-survey").click()
    await user.should_see("Created “NPS survey” from the template.")
    await user.should_see(marker="palette")  # straight into the editor, to try it and change it
    assert [f.id for f in builder.flows.list()] == ["nps-survey"]

    await user.open("/")
    user.find(marker="from-template").click()
    await user.should_see(marker="template-nps-survey")
    user.find(marker="template-nps-survey").click()
    await user.should_see("You already have a flow named “NPS survey”.")
    user.find(marker="open-existing").click()
    await user.should_see(marker="palette")
    assert [f.id for f in builder.flows.list()] == ["nps-survey"]  # nothing made twice without asking

    await user.open("/")
    user.find(marker="from-template").click()
    await user.should_see(marker="template-nps-survey")
    user.find(marker="template-nps-survey").click()
    await user.should_see(marker="copy")
    user.find(marker="copy").click()
    await user.should_see("Created “NPS survey 2” from the template.")
    assert builder.flows.draft("nps-survey-2").name == "NPS survey 2"
    assert len(builder.flows.draft("nps-survey-2").nodes) > 5


async def test_the_template_dialog_can_be_cancelled(user: User, builder: Builder) -> None:
    await user.open("/")
    user.find(marker="from-template").click()
    await user.should_see(marker="template-quiz")
    user.find(marker="cancel").click()
    await user.should_not_see(marker="template-quiz")
    assert builder.flows.list() == []


async def test_a_new_flow_needs_a_name_and_says_so_beside_the_field(user: User, builder: Builder) -> None:
    await user.open("/")
    user.find(marker="new").click()
    await user.should_see(marker="name")
    user.find(marker="ok").click()
    field = user.find(kind=ui.input, marker="name").elements.pop()
    assert field.props.get("error") is True and "Give the flow a name" in field.props["error-message"]
    await user.should_see(marker="name")  # the dialog stays open
    assert builder.flows.list() == []
    assert "autofocus" in field.props  # the name can be typed at once


async def test_search_duplicate_rename_and_delete(user: User, builder: Builder) -> None:
    from flows.document import parse_flow

    builder.flows.save_draft(parse_flow(QUIZ))
    builder.flows.save_draft(parse_flow((TEMPLATES / "faq_menu.json").read_bytes()))
    await user.open("/")
    user.find(marker="search").type("qui")
    await user.should_see(marker="flow-quiz")
    await user.should_not_see(marker="flow-faq-menu")
    user.find(marker="duplicate-quiz").click()
    await user.should_see("Duplicated as “Quiz (copy)”.")
    assert builder.flows.draft("quiz-copy").nodes == builder.flows.draft("quiz").nodes
    user.find(marker="rename-quiz").click()
    await user.should_see(marker="name")
    user.find(marker="name").clear().type("Space quiz")
    user.find(marker="ok").click()
    await user.should_see("Renamed to “Space quiz”.")
    assert builder.flows.draft("quiz").name == "Space quiz"
    user.find(marker="delete-quiz").click()
    await user.should_see("cannot be undone")
    user.find(marker="confirm").click()
    await user.should_see("Deleted “Space quiz”.")
    assert not builder.flows.exists("quiz") and builder.flows.exists("quiz-copy")


async def test_import_saves_a_good_file_and_refuses_a_bad_one(user: User, builder: Builder, tmp_path: Path) -> None:
    await user.open("/")
    user.find(marker="import").click()
    await user.should_see(marker="upload")
    upload = user.find(ui.upload).elements.pop()
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "x", "nodes": [')
    await _upload(upload, bad)
    await user.should_see("is not valid JSON")
    assert builder.flows.list() == []
    good = tmp_path / "quiz.json"
    good.write_bytes(QUIZ)
    await _upload(upload, good)
    await user.should_see("Imported “Quiz”.")
    assert [n.id for n in builder.flows.draft("quiz").nodes] == [n["id"] for n in json.loads(QUIZ)["nodes"]]


async def test_a_hostile_file_is_refused_in_one_sentence_and_nothing_is_saved(
    user: User, builder: Builder, tmp_path: Path
) -> None:
    await user.open("/")
    user.find(marker="import").click()
    await user.should_see(marker="upload")
    upload = user.find(ui.upload).elements.pop()
    start = b'{"id": "x", "name": "X", "nodes": [{"id": "s", "type": "flow.start", "settings": {"n": '
    for name, raw, words in [
        ("digits.json", start + b"9" * 5000 + b"}}]}", "holds a number 5,000 characters long"),  # was a ValueError
        ("deep.json", start + b"[" * 100_000 + b"]" * 100_000 + b"}}]}", "nested too deeply"),
        ("nul.json", start + b'"\\u0000"}}]}', "holds a NUL character"),
    ]:
        path = tmp_path / name
        path.write_bytes(raw)
        await _upload(upload, path)
        await user.should_see(words)
    assert builder.flows.list() == []


def record_file_names(user: User, monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The names downloads are offered under (the simulated user keeps only the bytes)."""
    names: list[str | None] = []
    keep = user.download.content

    def content(content: bytes | str, filename: str | None = None, media_type: str = "") -> Any:
        names.append(filename)
        return keep(content, filename, media_type)

    monkeypatch.setattr(user.download, "content", content)
    return names


async def test_export_downloads_the_draft_as_the_core_flow_file(
    user: User, builder: Builder, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiz = parse_flow(QUIZ)
    call_api = Node.model_validate(
        {
            "id": "call_api",
            "type": "http.request",
            "settings": {
                "url": "https://api.example.com/scores",
                "headers": [{"name": "Authorization", "value": "Bearer {{ secrets.API_KEY }}"}],
            },
        }
    )
    builder.flows.save_draft(quiz.model_copy(update={"name": "Quiz ✓", "nodes": [*quiz.nodes, call_api]}))
    builder.flows.save_draft(parse_flow((TEMPLATES / "faq_menu.json").read_bytes()))
    names = record_file_names(user, monkeypatch)
    await user.open("/")
    user.find(marker="export-quiz").click()
    response = await user.download.next()
    draft = builder.flows.draft("quiz")
    assert names == ["quiz.json"]
    assert response.content == dump_flow(draft).encode("utf-8")  # exactly what `chatloom export` writes
    assert parse_flow(response.content) == draft
    assert "Bearer {{ secrets.API_KEY }}" in response.text  # a secret is named, its value is never in a flow


async def _upload(upload: ui.upload, path: Path) -> None:
    from nicegui.elements.upload_files import SmallFileUpload

    await upload.handle_uploads(
        [SmallFileUpload(name=path.name, content_type="application/json", _data=path.read_bytes())]
    )


async def test_each_flow_shows_its_status_its_channels_and_its_week(user: User, builder: Builder) -> None:
    quiz, faq = parse_flow(QUIZ), parse_flow((TEMPLATES / "faq_menu.json").read_bytes())
    builder.flows.save_draft(quiz, by="ada@example.com")
    builder.flows.save_draft(faq)
    builder.flows.publish("quiz", builder.registry)
    assert builder.channels is not None
    builder.channels.store.deploy("web", "site", "quiz", 1, {})
    for _ in range(3):
        await builder.runtime.start("quiz", channel="api", account="a")
    await user.open("/")
    await user.should_see(marker="flow-quiz")
    status = {"quiz": "Published · version 1", "faq-menu": "Not published"}
    for flow_id, words in status.items():
        with user.scope(marker=f"status-{flow_id}"):
            await user.should_see(words)
    with user.scope(marker="channels-quiz"):
        await user.should_see("Web chat")
    assert user.find(marker="week-quiz").elements.pop().text == "3"
    assert user.find(marker="edited-quiz").elements.pop().text.endswith("by ada@example.com")

    builder.flows.save_draft(quiz.model_copy(update={"name": "Quiz ✓"}), by="bo@example.com")
    await user.open("/")
    with user.scope(marker="status-quiz"):
        await user.should_see("Changes not published")
    assert user.find(marker="edited-quiz").elements.pop().text.endswith("by bo@example.com")


def test_times_are_said_the_way_people_say_them() -> None:
    from datetime import UTC, datetime, timedelta

    from builder.pages.flow_list import ago

    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(minutes=1), now) == "1 minute ago"
    assert ago(now - timedelta(minutes=59), now) == "59 minutes ago"
    assert ago(now - timedelta(hours=3), now) == "3 hours ago"
    assert ago(now - timedelta(hours=30), now) == "yesterday"
    assert ago(now - timedelta(days=4), now) == "4 days ago"
    assert ago(datetime(2026, 3, 5, 9, 0), now) == "5 Mar 2026"  # naive: SQLite's, in UTC

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


async def test_create_from_a_template_twice_gives_two_flows(user: User, builder: Builder) -> None:
    await user.open("/")
    for made in ("nps-survey", "nps-survey-2"):
        user.find(marker="from-template").click()
        await user.should_see(marker="template-nps-survey")
        user.find(marker="template-nps-survey").click()
        await user.should_see(marker=f"flow-{made}")
    assert {f.id for f in builder.flows.list()} == {"nps-survey", "nps-survey-2"}
    assert len(builder.flows.draft("nps-survey-2").nodes) > 5


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

"""Settings forms are generated from each node type's settings model, plugins included."""

from __future__ import annotations

from typing import Any

import pytest
from nicegui import ui
from nicegui.testing.user import User

from builder.forms import SettingsForm
from nodes.api import NodeType
from nodes.registry import Registry
from tests.runtime.testnodes import TYPES


def form_page(node_type: NodeType, values: dict[str, Any], saved: list[dict[str, Any]]) -> None:
    @ui.page("/form")
    def page() -> None:
        SettingsForm(node_type, values, saved.append)


async def test_every_built_in_node_type_gets_a_form(user: User, builtins: Registry) -> None:
    for node_type in builtins:
        saved: list[dict] = []
        form_page(node_type, {}, saved)
        await user.open("/form")
        await user.should_see(node_type.title)
        for name in node_type.settings.model_fields:
            await user.should_see(marker=f"field-{name}")


async def test_typing_saves_valid_settings_only(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.number"), {"prompt": "How many?", "save_as": "count"}, saved)
    await user.open("/form")
    user.find(marker="field-retries").clear().type("7")
    assert saved[-1]["retries"] == 7 and saved[-1]["prompt"] == "How many?"
    before = len(saved)
    user.find(marker="field-save_as").clear().type("my count")  # a space is not allowed in a variable name
    await user.should_see("Save answer in variable")
    assert len(saved) == before  # nothing invalid was saved
    problems = user.find(marker="problems").elements.pop()
    assert "“Save answer in variable”" in problems.text


async def test_cross_field_problems_are_shown_and_not_saved(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.number"), {"prompt": "?", "save_as": "n", "maximum": 3}, saved)
    await user.open("/form")
    user.find(marker="field-minimum").type("5")
    problems = user.find(marker="problems").elements.pop()
    assert "Smallest allowed" in problems.text and not any(s.get("minimum") == 5 for s in saved)


async def test_lists_of_records_can_be_added_and_removed(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("message.send"), {"text": "Pick one"}, saved)
    await user.open("/form")
    user.find(marker="add").click()
    user.find(marker="title").type("Yes please")
    assert saved[-1]["buttons"] == [{"title": "Yes please", "value": ""}]
    user.find(marker="remove").click()
    assert saved[-1]["buttons"] == []


@pytest.mark.parametrize("node_type", [t for t in TYPES if t.settings.model_fields], ids=lambda t: t.type)
async def test_a_plugin_node_type_gets_a_working_form_with_no_builder_code(user: User, node_type: NodeType) -> None:
    saved: list[dict] = []
    form_page(node_type, {}, saved)
    await user.open("/form")
    for name in node_type.settings.model_fields:
        await user.should_see(marker=f"field-{name}")

"""Settings forms are generated from each node type's settings model, plugins included."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from nicegui import ui
from nicegui.testing.user import User

from builder.forms import SettingsForm
from nodes.api import NodeType
from nodes.registry import Registry
from tests.nodes.test_secrets import CRM
from tests.runtime.testnodes import TYPES


def form_page(
    node_type: NodeType | None, values: dict[str, Any], saved: list[dict[str, Any]], variables: Sequence[str] = ()
) -> None:
    assert node_type is not None

    @ui.page("/form")
    def page() -> None:
        if variables:
            SettingsForm(node_type, values, saved.append, variables=variables)
        else:
            SettingsForm(node_type, values, saved.append)  # the editor's call, before it passes variables


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
    problems = user.find(kind=ui.label, marker="problems").elements.pop()
    assert "“Save answer in variable”" in problems.text


async def test_cross_field_problems_are_shown_and_not_saved(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.number"), {"prompt": "?", "save_as": "n", "maximum": 3}, saved)
    await user.open("/form")
    user.find(marker="field-minimum").type("5")
    problems = user.find(kind=ui.label, marker="problems").elements.pop()
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


async def test_choosing_a_variable_inserts_it_and_saves(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("message.send"), {"text": "Hello"}, saved, variables=["name", "city", "name"])
    await user.open("/form")
    await user.should_see(marker="variables-text")
    await user.should_see(marker="variables-media_url")
    with user.scope(marker="variables-text"):
        assert len(user.find(kind=ui.menu_item).elements) == 2  # each name once
        await user.should_see("city")
        user.find(marker="variable-name").click()
    assert saved[-1]["text"] == "Hello{{ name }}"
    assert user.find(kind=ui.input, marker="field-text").elements.pop().value == "Hello{{ name }}"


async def test_a_variable_goes_where_the_caret_was(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("message.send"), {"text": "Hi, how are you?"}, saved, variables=["name"])
    await user.open("/form")
    field = user.find(marker="field-text")
    field.trigger("blur", {"start": 4, "end": 4})  # what the browser reports when the field loses focus
    with user.scope(marker="variables-text"):
        user.find(marker="variable-name").click()
        assert saved[-1]["text"] == "Hi, {{ name }}how are you?"
        user.find(marker="variable-name").click()  # a second insertion follows the first
        assert saved[-1]["text"] == "Hi, {{ name }}{{ name }}how are you?"
    field.trigger("blur", {"start": 28, "end": 31})  # a selection ("are") is replaced
    with user.scope(marker="variables-text"):
        user.find(marker="variable-name").click()
    assert saved[-1]["text"] == "Hi, {{ name }}{{ name }}how {{ name }} you?"


async def test_an_insertion_that_breaks_a_limit_is_shown_and_not_saved(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    values = {"prompt": "Coming?", "save_as": "coming", "yes_title": "y" * 35}
    form_page(builtins.get("input.yesno"), values, saved, variables=["name"])
    await user.open("/form")
    with user.scope(marker="variables-yes_title"):
        user.find(marker="variable-name").click()
    assert not saved  # 45 characters: more than the 40 allowed
    assert "at most 40 characters" in user.find(kind=ui.label, marker="problems").elements.pop().text
    field = user.find(kind=ui.input, marker="field-yes_title").elements.pop()
    assert field.value.endswith("{{ name }}") and field.props["error"] is True  # shown beside the field


async def test_only_template_text_fields_get_the_menu_and_only_with_variables(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.text"), {"prompt": "Name?", "save_as": "name"}, saved, variables=["city"])
    await user.open("/form")
    await user.should_see(marker="variables-prompt")
    await user.should_not_see(marker="variables-save_as")  # a variable name cannot hold {{ }}
    await user.should_not_see(marker="variables-retries")

    form_page(builtins.get("input.text"), {"prompt": "Name?", "save_as": "name"}, saved)
    await user.open("/form")
    await user.should_see(marker="field-prompt")
    await user.should_not_see(kind=ui.menu_item)


async def test_list_records_get_the_menu_too(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("message.send"), {"text": "Pick one"}, saved, variables=["colour"])
    await user.open("/form")
    user.find(marker="add").click()
    with user.scope(marker="item-0"):
        user.find(marker="title").type("Yes, ")
        with user.scope(marker="variables-title"):
            user.find(marker="variable-colour").click()
    assert saved[-1]["buttons"] == [{"title": "Yes, {{ colour }}", "value": ""}]

    form_page(builtins.get("logic.condition"), {"branches": [{"port": "hot", "rules": [{"left": ""}]}]}, saved, ["t"])
    await user.open("/form")
    await user.should_not_see(marker="variables-port")  # a port name cannot hold {{ }}
    with user.scope(marker="variables-left"):  # a branch's rules are a list inside the list
        user.find(marker="variable-t").click()
    assert saved[-1]["branches"][0]["rules"][0]["left"] == "{{ t }}"


async def test_the_form_saves_a_typed_secret_and_never_shows_it(user: User) -> None:
    saved: list[dict] = []  # type: ignore[type-arg]

    @ui.page("/form")
    def page() -> None:
        SettingsForm(CRM, {"api_key": "sk-old"}, saved.append)

    await user.open("/form")
    field = user.find(marker="field-api_key").elements.pop()
    assert field.value == ""  # the old secret is not sent to the browser
    user.find(marker="field-url").clear().type("https://crm.acme")
    assert saved[-1]["api_key"] == "sk-old"  # left empty: the old one is kept
    user.find(marker="field-api_key").type("sk-new")
    assert saved[-1]["api_key"] == "sk-new"


async def test_a_wrong_variable_name_is_explained_beside_its_field_in_words(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.text"), {"prompt": "Name?", "save_as": "name"}, saved, variables=["name"])
    await user.open("/form")
    field = user.find(kind=ui.input, marker="field-save_as").elements.pop()
    assert not isinstance(field, ui.textarea)  # a name is one line
    user.find(marker="field-save_as").clear().type("first name")
    assert field.props["error"] is True
    message = field.props["error-message"]
    assert "letters, digits and _" in message and "no spaces" in message
    assert "pattern" not in message and "^" not in message  # no regular expression shown to a person
    banner = user.find(kind=ui.label, marker="problems").elements.pop()
    assert banner.visible and banner.text.startswith("Not saved yet")
    user.find(marker="field-save_as").clear().type("first_name")
    assert not field.props["error"] and not banner.visible and saved[-1]["save_as"] == "first_name"


async def test_a_variable_can_be_chosen_from_the_flows_variables(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.text"), {"prompt": "Name?", "save_as": "x"}, saved, variables=["name", "city"])
    await user.open("/form")
    with user.scope(marker="pick-save_as"):
        user.find(marker="variable-city").click()
    assert saved[-1]["save_as"] == "city"


async def test_a_problem_the_whole_step_has_is_shown_beside_the_field_it_names(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    heard: list[list[str]] = []

    @ui.page("/form")
    def page() -> None:
        SettingsForm(builtins.get("message.send"), {"text": "Hi"}, saved.append, on_problems=heard.append)  # type: ignore[arg-type]

    await user.open("/form")
    user.find(marker="field-text").clear()  # an empty message with no attachment says nothing
    field = user.find(kind=ui.input, marker="field-text").elements.pop()
    assert field.props["error"] is True and field.props["error-message"].startswith("“Message” is empty")
    assert heard[-1] and heard[-1][0].startswith("“Message” is empty")
    user.find(marker="field-text").type("Hello again")
    assert heard[-1] == [] and saved[-1]["text"] == "Hello again"


def _field(user: User, name: str) -> Any:
    return user.find(marker=f"field-{name}").elements.pop()


async def test_a_whole_number_steps_by_one_within_its_bounds(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.number"), {"prompt": "How many?", "save_as": "count", "retries": 9}, saved)
    await user.open("/form")
    user.find(marker="more-retries").click()
    assert saved[-1]["retries"] == 10 and isinstance(saved[-1]["retries"], int)
    user.find(marker="more-retries").click()  # 10 is the most “Re-ask after an invalid answer” allows
    assert _field(user, "retries").value == 10 and saved[-1]["retries"] == 10
    user.find(marker="less-retries").click()
    assert saved[-1]["retries"] == 9
    field = _field(user, "retries")
    assert field.props["min"] == 0 and field.props["max"] == 10 and field.props["step"] == 1


async def test_a_fraction_where_a_whole_number_is_asked_is_refused_in_words(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.number"), {"prompt": "How many?", "save_as": "count"}, saved)
    await user.open("/form")
    user.find(marker="field-retries").clear().type("2.5")
    field = _field(user, "retries")
    assert field.props["error-message"] == "“Re-ask after an invalid answer” must be a whole number."
    assert not any(s.get("retries") == 2.5 for s in saved)
    field.run_method("blur")
    field.sanitize()  # what leaving the field does: the typed value stays, and so does what is wrong with it
    assert field.value == 2.5 and field.props["error"] is True
    user.find(marker="less-retries").click()  # a step from a fraction lands on a whole number
    assert saved[-1]["retries"] == 2 and not field.props["error"]
    user.find(marker="field-retries").clear().type("12")
    assert field.props["error-message"] == "“Re-ask after an invalid answer” must be 10 or less."


async def test_a_number_that_must_be_more_than_a_bound_starts_above_it(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.number"), {"prompt": "How many?", "save_as": "count"}, saved)
    await user.open("/form")
    assert _field(user, "timeout_minutes").value is None  # optional: empty means wait for ever
    user.find(marker="more-timeout_minutes").click()
    assert saved[-1]["timeout_minutes"] == 1
    user.find(marker="less-timeout_minutes").click()  # 0 is not “more than 0”: it stays
    assert saved[-1]["timeout_minutes"] == 1 and _field(user, "timeout_minutes").value == 1


async def test_a_fraction_between_0_and_1_steps_by_five_hundredths(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("memory.knowledge"), {"question": "{{ q }}", "save_as": "found"}, saved)
    await user.open("/form")
    for _ in range(2):
        user.find(marker="more-min_similarity").click()
    assert saved[-1]["min_similarity"] == 0.35  # 0.25 + 0.05 + 0.05, not 0.35000000000000003
    for _ in range(10):
        user.find(marker="less-min_similarity").click()
    assert saved[-1]["min_similarity"] == 0


async def test_numbers_in_a_list_of_records_get_steppers_too(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("split.random"), {}, saved)
    await user.open("/form")
    with user.scope(marker="item-0"):
        user.find(marker="more-weight").click()
    assert saved[-1]["variants"][0]["weight"] == 51 and saved[-1]["variants"][1]["weight"] == 50


async def test_a_yes_or_no_setting_is_a_switch(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("input.date"), {"prompt": "When?", "save_as": "day"}, saved)
    await user.open("/form")
    assert isinstance(_field(user, "day_first"), ui.switch)
    user.find(marker="field-day_first").click()
    assert saved[-1]["day_first"] is False


def _preview(user: User, name: str) -> list[tuple[str, str]]:
    """What the preview under a field shows, piece by piece: (what kind of element, its text)."""
    preview = user.find(marker=f"preview-{name}").elements.pop()
    bubble = preview.default_slot.children[-1]
    found = []
    for child in bubble.default_slot.children:
        kind = "link" if isinstance(child, ui.link) else "chip" if "font-mono" in child.classes else child.tag
        found.append((kind, str(getattr(child, "text", ""))))
    return found


async def test_a_message_is_previewed_as_the_chat_shows_it(user: User, builtins: Registry) -> None:
    saved: list[dict] = []
    form_page(builtins.get("message.send"), {"text": "Hi {{ name }}!"}, saved, variables=["name"])
    await user.open("/form")
    assert _preview(user, "text") == [("span", "Hi "), ("chip", "name"), ("span", "!")]
    user.find(marker="field-text").clear().type("Hello {{user.first_name}},\nsee https://example.com/faq.")
    assert _preview(user, "text") == [
        ("span", "Hello "),
        ("chip", "user.first_name"),
        ("span", ",\nsee "),  # the line break is kept (the bubble wraps text as typed)
        ("link", "https://example.com/faq"),  # the full stop ends the sentence, not the address
        ("span", "."),
    ]
    link = next(e for e in user.find(marker="preview-text").elements.pop().descendants() if isinstance(e, ui.link))
    assert link.props["href"] == "https://example.com/faq" and link.props["rel"] == "noopener noreferrer"
    await user.should_not_see(marker="preview-media_url")  # an address is not something the bot says
    user.find(marker="field-text").clear()
    await user.should_not_see(marker="preview-text")  # nothing to say, nothing to preview
    form_page(builtins.get("input.text"), {"prompt": "Your name?", "save_as": "n"}, saved)
    await user.open("/form")
    assert _preview(user, "prompt") == [("span", "Your name?")]


async def test_markup_in_a_message_is_shown_as_typed_never_as_html(user: User, builtins: Registry) -> None:
    attack = '<script>alert(1)</script><img src=x onerror="alert(2)"> javascript:alert(3) <a href="https://x">x</a>'
    saved: list[dict] = []
    form_page(builtins.get("message.send"), {"text": attack}, saved)
    await user.open("/form")
    shown = _preview(user, "text")
    assert "".join(text for _, text in shown) == attack  # every character as typed
    assert [kind for kind, _ in shown] == ["span", "link", "span"]  # only the web address became a link
    assert shown[0][1].startswith("<script>alert(1)</script><img src=x onerror=") and shown[1][1] == "https://x"
    await user.should_not_see(kind=ui.html)
    await user.should_not_see(kind=ui.markdown)

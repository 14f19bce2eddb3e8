"""What a step's card shows: its category's colour and icon, what it says, its buttons, the variable it
saves to, and each exit in words (builder/cards.py; flow_canvas.js draws it)."""

from __future__ import annotations

from typing import Any

from builder import graph_edit
from builder.cards import CATEGORIES, OTHER, PORT_WORDS, card_data
from flows.models import Flow, Node
from nodes.api import NodeType
from nodes.registry import Registry
from tests.runtime.testnodes import TYPES


def _card(registry: Registry, type_name: str, settings: dict[str, Any]) -> dict[str, Any]:
    spec = registry.get(type_name)
    node = Node(id="n", type=type_name, version=spec.version if spec else 1, settings=settings)
    flow = Flow(id="f", name="F", start="n", nodes=[node])
    inputs, outputs = graph_edit.ports(flow, node, registry)
    return card_data(flow, node, registry, inputs, outputs)


def test_a_message_card_says_the_message_with_its_variables_and_buttons(builtins: Registry) -> None:
    card = _card(
        builtins,
        "message.send",
        {"text": "Thanks, {{ name }}! Pick one:", "buttons": [{"title": "Pricing"}, {"title": "Support"}]},
    )
    assert card["title"] == "Send message" and card["icon"] == "chat_bubble"
    assert card["color"] == CATEGORIES["Messages"][0]
    assert card["text"] == "Thanks, {{ name }}! Pick one:"  # the canvas draws {{ name }} as a chip
    assert card["chips"] == ["Pricing", "Support"]
    assert card["outputs"] == ["out"] and card["labels"] == {"out": PORT_WORDS["out"]}


def test_a_question_says_where_the_answer_goes_and_names_its_exits(builtins: Registry) -> None:
    card = _card(builtins, "input.email", {"prompt": "Your email?", "save_as": "email", "timeout_minutes": 5})
    assert card["text"] == "Your email?" and card["saves"] == "email"
    assert card["labels"] == {"valid": "answered", "invalid": "not understood", "timeout": "no answer in time"}
    assert card["color"] == CATEGORIES["Inputs"][0]


def test_a_choice_shows_its_options_beside_their_exits_not_twice(builtins: Registry) -> None:
    options = [{"title": "Talk to sales", "value": "sales"}, {"title": "Just browsing", "value": "browse"}]
    card = _card(builtins, "input.choice", {"prompt": "How can we help?", "save_as": "goal", "options": options})
    assert card["labels"]["sales"] == "Talk to sales" and card["labels"]["browse"] == "Just browsing"
    assert card["chips"] == []  # the options are the exits
    one_exit = _card(
        builtins,
        "input.choice",
        {"prompt": "How can we help?", "save_as": "goal", "options": options, "branch_per_option": False},
    )
    assert one_exit["chips"] == ["Talk to sales", "Just browsing"] and one_exit["labels"]["valid"] == "answered"


def test_a_condition_says_its_branches_in_words(builtins: Registry) -> None:
    branches = [
        {"port": "promoter", "rules": [{"left": "{{ score }}", "op": "greater_or_equal", "right": "9"}]},
        {"port": "vip", "label": "Our best customers", "rules": [{"left": "{{ tier }}", "op": "is_not_empty"}]},
    ]
    card = _card(builtins, "logic.condition", {"branches": branches})
    assert card["labels"] == {"promoter": "score is at least 9", "vip": "Our best customers", "else": "otherwise"}
    assert "{{" not in " ".join(card["labels"].values()) and "≥" not in card["labels"]["promoter"]


def test_a_step_not_set_up_yet_says_so_instead_of_showing_nothing(builtins: Registry) -> None:
    assert _card(builtins, "input.text", {})["empty"].startswith("Not set up yet")  # no question, no variable
    assert _card(builtins, "message.send", {"text": ""})["empty"].startswith("Not set up yet")
    assert _card(builtins, "message.send", {"text": "Hi"})["empty"] == ""


def test_long_texts_and_many_buttons_are_cut_for_the_card(builtins: Registry) -> None:
    buttons = [{"title": f"Option {i}"} for i in range(12)]
    card = _card(builtins, "message.send", {"text": "x" * 4000, "buttons": buttons})
    assert len(card["text"]) <= 240
    assert card["chips"][:5] == [f"Option {i}" for i in range(5)] and card["chips"][-1] == "+7 more"


def test_every_built_in_type_has_its_own_icon_and_a_known_colour(builtins: Registry) -> None:
    colours = {c for c, _ in CATEGORIES.values()}
    for spec in builtins:
        card = _card(builtins, spec.type, {})
        assert spec.icon and card["icon"] == spec.icon, spec.type
        assert card["color"] in colours, spec.type


def test_a_plugin_with_its_own_category_and_no_icon_gets_a_neutral_look() -> None:
    spec: NodeType = TYPES[0]
    plugin = NodeType(
        type="crm.lookup", version=1, title="CRM lookup", category="CRM", settings=spec.settings, run=spec.run
    )
    card = _card(Registry.of([plugin]), "crm.lookup", {})
    assert (card["color"], card["icon"]) == OTHER


def test_a_type_not_installed_keeps_its_name_and_its_exits(builtins: Registry) -> None:
    card = _card(builtins, "acme.gone", {})
    assert card["title"] == "acme.gone (not installed)" and card["color"] == OTHER[0]

"""The flow editor without a browser: the page, its palette, and the edits the canvas proposes."""

from __future__ import annotations

import pytest
from nicegui.testing.user import User

from builder import graph_edit
from builder.canvas import FlowCanvas
from builder.context import TEMPLATES, Builder
from builder.graph_edit import Refused
from flows.document import parse_flow
from nodes.registry import Registry

LEAD = parse_flow((TEMPLATES / "lead_capture.json").read_bytes())


async def test_the_editor_shows_the_flow_and_a_palette_by_category(user: User, builder: Builder) -> None:
    builder.flows.save_draft(LEAD)
    await user.open("/flows/lead-capture")
    await user.should_see("Lead capture")
    for category in {spec.category for spec in builder.registry}:
        await user.should_see(marker=f"category-{category}")
    await user.should_see(marker="palette-message.send")
    canvas = user.find(FlowCanvas).elements.pop()
    assert {n["id"] for n in canvas.props["nodes"]} == {n.id for n in LEAD.nodes}


async def test_an_unknown_flow_says_so(user: User) -> None:
    await user.open("/flows/nothing-here")
    await user.should_see("There is no flow “nothing-here”.")


async def test_drop_connect_move_and_delete_are_saved(user: User, builder: Builder) -> None:
    builder.flows.save_draft(LEAD)
    await user.open("/flows/lead-capture")
    canvas = user.find(FlowCanvas)
    canvas.trigger("drop", {"type": "message.send", "x": 100, "y": 300})
    assert builder.flows.draft("lead-capture").node("send-1") is not None
    canvas.trigger("connect", {"source": "send-1", "source_port": "out", "target": "name", "target_port": "in"})
    assert any(e.source == "send-1" for e in builder.flows.draft("lead-capture").edges)
    canvas.trigger("move", {"nodes": [{"id": "send-1", "x": 7.4, "y": 8}]})
    assert builder.flows.draft("lead-capture").node("send-1").ui == {"x": 7, "y": 8}  # type: ignore[union-attr]
    canvas.trigger("remove", {"nodes": ["send-1"], "edges": []})
    draft = builder.flows.draft("lead-capture")
    assert draft.node("send-1") is None and not any(e.source == "send-1" for e in draft.edges)


async def test_a_refused_connection_is_explained_and_not_saved(user: User, builder: Builder) -> None:
    builder.flows.save_draft(LEAD)
    await user.open("/flows/lead-capture")
    user.find(FlowCanvas).trigger(
        "connect", {"source": "start", "source_port": "out", "target": "name", "target_port": "in"}
    )
    await user.should_see("already connected")
    assert builder.flows.draft("lead-capture").edges == LEAD.edges


async def test_selecting_a_node_shows_its_settings_and_saves_them(user: User, builder: Builder) -> None:
    builder.flows.save_draft(LEAD)
    await user.open("/flows/lead-capture")
    user.find(FlowCanvas).trigger("select", {"nodes": ["hello"], "edges": []})
    await user.should_see(marker="field-text")
    user.find(marker="field-text").clear().type("Hello there")
    assert builder.flows.draft("lead-capture").node("hello").settings["text"] == "Hello there"  # type: ignore[union-attr]


async def test_each_exit_can_be_led_to_a_step_chosen_from_a_list(user: User, builder: Builder) -> None:
    """Connecting without dragging (and so by keyboard): the settings list each exit with where it leads."""
    builder.flows.save_draft(LEAD)
    await user.open("/flows/lead-capture")
    canvas = user.find(FlowCanvas)
    canvas.trigger("drop", {"type": "message.send", "x": 100, "y": 300})
    canvas.trigger("select", {"nodes": ["send-1"], "edges": []})
    await user.should_see(marker="exit-out")
    choices = user.find(marker="exit-out").elements.pop().options
    assert "start" not in choices and "send-1" not in choices  # neither the start nor the step itself
    email = choices["email"]
    assert email.startswith("Ask for an email: Thanks, {{ name }}")  # by title and what it says, not by id
    user.find(marker="exit-out").click()
    user.find(email).click()
    edges = [e for e in builder.flows.draft("lead-capture").edges if e.source == "send-1"]
    assert [(e.source_port, e.target) for e in edges] == [("out", "email")]
    assert any(e["source"] == "send-1" for e in user.find(FlowCanvas).elements.pop().props["edges"])  # drawn too

    user.find(FlowCanvas).trigger("select", {"nodes": ["email"], "edges": []})
    await user.should_see(marker="exit-invalid")  # a question's exits, each by its words
    await user.should_see("Exit “not understood” leads to")


@pytest.mark.parametrize(
    ("edge", "reason"),
    [
        (("hello", "out", "hello", "in"), "cannot lead to itself"),
        (("hello", "nope", "name", "in"), "no output 'nope'"),
        (("send-1", "out", "name", "nope"), "no input 'nope'"),
        (("start", "out", "send-1", "in"), "already connected"),
        (("ghost", "out", "name", "in"), "no node 'ghost'"),
    ],
)
def test_connect_refuses(builtins: Registry, edge: tuple[str, str, str, str], reason: str) -> None:
    spec = builtins.get("message.send")
    assert spec is not None
    flow, _ = graph_edit.add_node(LEAD, spec, 0, 0)
    source, source_port, target, target_port = edge
    with pytest.raises(Refused, match=reason):
        graph_edit.connect(
            flow, builtins, source=source, source_port=source_port, target=target, target_port=target_port
        )


def test_connect_adds_an_edge_with_a_fresh_id(builtins: Registry) -> None:
    spec = builtins.get("message.send")
    assert spec is not None
    flow, node = graph_edit.add_node(LEAD, spec, 0, 0)
    flow, _ = graph_edit.connect(flow, builtins, source=node.id, source_port="out", target="name", target_port="in")
    assert len({e.id for e in flow.edges}) == len(LEAD.edges) + 1


def test_the_start_node_cannot_be_removed() -> None:
    with pytest.raises(Refused, match="start node"):
        graph_edit.remove(LEAD, {"start"}, set())


async def test_the_test_chat_runs_the_draft_beside_the_canvas(user: User, builder: Builder) -> None:
    builder.flows.save_draft(parse_flow((TEMPLATES / "faq_menu.json").read_bytes()))
    await user.open("/flows/faq-menu")
    user.find(marker="test-chat").click()
    await user.should_see(marker="choice-Prices")
    user.find(marker="choice-Prices").click()
    await user.should_see("Plans start at $9 a month")
    await user.should_see(marker="versions")


async def test_the_tour_is_offered_until_taken_or_declined(user: User, builder: Builder) -> None:
    builder.flows.save_draft(LEAD)
    await user.open("/flows/lead-capture")
    await user.should_see(marker="tour-offer")
    user.find(marker="tour-skip").click()
    await user.should_not_see(marker="tour-offer")
    await user.open("/flows/lead-capture")
    await user.should_see(marker="tour")  # the ? button stays
    await user.should_not_see(marker="tour-offer")  # declined once: not offered again


async def test_publish_from_the_editor(user: User, builder: Builder) -> None:
    """Publishing does not leave the editor: one press makes the draft the live version, and says where
    it answers; a flow with errors stays unpublished, and its first broken step is shown."""
    builder.flows.save_draft(LEAD)
    await user.open("/flows/lead-capture")
    user.find(marker="publish").click()
    await user.should_see("Version 1 is live")
    assert [v.version for v in builder.flows.versions("lead-capture")] == [1]
    [entry] = builder.access.audit.entries(action="flow.publish")
    assert entry.target == "lead-capture"

    asks = LEAD.node("name")
    assert asks is not None
    empty = asks.model_copy(update={"settings": {**asks.settings, "prompt": ""}})  # a question without words
    broken = LEAD.model_copy(update={"nodes": [empty if n.id == "name" else n for n in LEAD.nodes]})
    builder.flows.save_draft(broken)
    await user.open("/flows/lead-capture")
    user.find(marker="publish").click()
    await user.should_see("Not published")
    assert [v.version for v in builder.flows.versions("lead-capture")] == [1]

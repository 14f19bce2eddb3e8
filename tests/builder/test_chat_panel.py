"""The test chat runs the current draft through the real runtime."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import Request
from nicegui import ui
from nicegui.testing.user import User

from builder.access import enter
from builder.chat_panel import ChatPanel
from builder.context import TEMPLATES, Builder
from flows.document import parse_flow
from runtime.engine import Runtime


def chat_page(builder: Builder, flow_id: str, running: list[str | None]) -> None:
    @ui.page("/chat")
    def page(request: Request) -> None:
        enter(builder, request)  # the signed-in tester, as every builder page has
        ChatPanel(builder, flow_id, on_node=running.append)


async def test_chat_with_a_draft_by_buttons_and_typing(user: User, builder: Builder) -> None:
    builder.flows.save_draft(parse_flow((TEMPLATES / "faq_menu.json").read_bytes()))
    running: list[str | None] = []
    chat_page(builder, "faq-menu", running)
    await user.open("/chat")
    await user.should_see("What would you like to know?")
    assert running[-1] == "menu"  # the node waiting for the answer, for highlighting on the canvas
    user.find(marker="choice-Prices").click()
    await user.should_see("Plans start at $9 a month")
    user.find(marker="chat-input").type("That's all").trigger("keydown.enter")
    await user.should_see("Glad I could help. Have a nice day!")
    await user.should_see("The conversation has ended.")
    await user.should_see(marker="chat-again")
    user.find(marker="chat-input").type("Hello again").trigger("keydown.enter")
    await user.should_see("Press “Start again”")  # typing after the end does not silently start over
    user.find(marker="chat-again").click()
    await user.should_see("Waiting for an answer at “Ask to choose one")  # the step in words, not its id
    assert builder.flows.versions("faq-menu") == []  # a draft, never published


async def test_waits_are_shortened_and_variables_are_shown(user: User, builder: Builder) -> None:
    flow = parse_flow((TEMPLATES / "lead_capture.json").read_bytes())
    nodes = list(flow.nodes)
    edges = [e for e in flow.edges if e.source != "hello"]
    nodes.append(nodes[0].model_copy(update={"id": "pause", "type": "flow.wait", "settings": {"amount": 30}}))
    edges.append(edges[0].model_copy(update={"id": "p1", "source": "hello", "target": "pause"}))
    edges.append(edges[0].model_copy(update={"id": "p2", "source": "pause", "target": "name"}))
    builder.flows.save_draft(flow.model_copy(update={"nodes": nodes, "edges": edges}))
    chat_page(builder, "lead-capture", [])
    await user.open("/chat")
    await user.should_see("What's your name?", retries=60)  # 30 s, a hundred times shorter
    with user.scope(marker="var-email"):
        await user.should_see("not set yet")  # not Python's None
    user.find(marker="chat-input").type("Ann").trigger("keydown.enter")
    with user.scope(marker="var-name"):
        await user.should_see("Ann")  # without Python's quotes


async def test_a_draft_that_cannot_run_says_why(user: User, builder: Builder) -> None:
    flow = parse_flow((TEMPLATES / "quiz.json").read_bytes())
    builder.flows.save_draft(flow.model_copy(update={"start": "missing"}))
    chat_page(builder, "quiz", [])
    await user.open("/chat")
    await user.should_see("This draft cannot run yet")


def test_values_are_shown_without_python() -> None:
    from builder.chat_panel import UNSET, shown_value

    assert shown_value(None) == UNSET
    assert (shown_value(True), shown_value(False)) == ("yes", "no")
    assert shown_value(["a", 2, None]) == f"a, 2, {UNSET}"
    assert shown_value({"a": "é"}) == '{"a": "é"}'
    assert shown_value("") == "(empty)" and shown_value(9.5) == "9.5"


async def test_an_answer_typed_while_the_chat_starts_is_not_lost(
    user: User, builder: Builder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot's first question shows before the runtime has said which conversation it is; an answer
    typed in that moment waits for it instead of vanishing with the cleared box."""
    builder.flows.save_draft(parse_flow((TEMPLATES / "lead_capture.json").read_bytes()))
    gate = asyncio.Event()
    started = Runtime.start

    async def slow_start(self: Runtime, *args: object, **kwargs: object) -> object:
        result = await started(self, *args, **kwargs)  # the first words are out
        await gate.wait()  # ... the conversation's id not handed back yet
        return result

    monkeypatch.setattr(Runtime, "start", slow_start)
    chat_page(builder, "lead-capture", [])
    await user.open("/chat")
    await user.should_see("What's your name?")
    user.find(marker="chat-input").type("Ann").trigger("keydown.enter")
    await asyncio.sleep(0.2)
    gate.set()
    await user.should_see(marker="chat-user", retries=50)  # sent once the conversation was there
    await user.should_see("Ann", retries=50)
    assert not user.find(marker="chat-input").elements.pop().value  # and not left in the box

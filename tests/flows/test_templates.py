"""Each template in flows/templates is a working bot: scripted conversations through the real runtime."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from flows.document import dump_flow, parse_flow
from flows.validate import validate
from nodes.api import Inbound, Services
from nodes.registry import Registry
from runtime.engine import Runtime

TEMPLATES = Path(__file__).resolve().parents[2] / "flows" / "templates"
NOW = datetime(2026, 11, 27, 9, 30)


def test_there_are_at_least_six_templates_and_each_is_clean(builtins: Registry) -> None:
    paths = sorted(TEMPLATES.glob("*.json"))
    assert len(paths) >= 6
    for path in paths:
        raw = path.read_text()
        flow = parse_flow(raw)
        assert validate(flow, builtins) == [], path.name  # no errors and no warnings
        assert dump_flow(flow) == raw, f"{path.name} is not in canonical form"
        assert flow.description and all(n.ui for n in flow.nodes), path.name


class Chat:
    """One conversation with a template, turn by turn."""

    def __init__(self, runtime: Runtime, flow_id: str) -> None:
        self.runtime, self.flow_id, self.cid = runtime, flow_id, ""

    async def start(self, **variables: object) -> list[str]:
        self.cid, messages = await self.runtime.start(self.flow_id, user_id="ann", variables=dict(variables))
        return [m.text for m in messages]

    async def say(self, text: str, choice: str | None = None) -> list[str]:
        return [m.text for m in await self.runtime.send(self.cid, Inbound(text, choice=choice))]

    @property
    def vars(self) -> dict:
        state = self.runtime.store.load(self.cid)
        assert state is not None
        return state.vars

    @property
    def status(self) -> str:
        state = self.runtime.store.load(self.cid)
        assert state is not None
        return state.status


@pytest.fixture
async def runtime(engine: Engine, builtins: Registry) -> AsyncIterator[Runtime]:
    rt = Runtime(engine, builtins, services=Services(clock=lambda: NOW))
    for path in TEMPLATES.glob("*.json"):
        flow = parse_flow(path.read_bytes())
        rt.flows.save_draft(flow)
        rt.flows.publish(flow.id, builtins)
    await rt.startup()
    yield rt
    await rt.shutdown()


async def test_lead_capture_validates_the_email_and_remembers_everything(runtime: Runtime) -> None:
    chat = Chat(runtime, "lead-capture")
    assert (await chat.start())[-1] == "What's your name?"
    assert await chat.say("Ann Lee") == ["Thanks, Ann Lee! What's your email address?"]
    assert await chat.say("ann@") == [
        "That doesn't look like an email address. Please try again.",
        "Thanks, Ann Lee! What's your email address?",
    ]
    assert await chat.say("ann@example.com") == ["Would you like our monthly newsletter too?"]
    assert await chat.say("1", choice="yes") == [
        "Great, Ann Lee! We'll write to ann@example.com within one working day. 📬"
    ]
    assert {k: chat.vars[k] for k in ("name", "email", "newsletter")} == {
        "name": "Ann Lee",
        "email": "ann@example.com",
        "newsletter": True,
    }
    assert chat.status == "ended"


async def test_lead_capture_gives_up_politely_after_three_bad_emails(runtime: Runtime) -> None:
    chat = Chat(runtime, "lead-capture")
    await chat.start()
    await chat.say("Bo")
    await chat.say("x")
    await chat.say("y")
    assert await chat.say("z") == ["No problem. You can always write to us at hello@acme.example."]
    assert chat.vars["email"] is None


async def test_faq_menu_answers_and_returns_to_the_menu(runtime: Runtime) -> None:
    chat = Chat(runtime, "faq-menu")
    assert await chat.start() == ["Hello! Pick a topic, or type its number.", "What would you like to know?"]
    assert await chat.say("Opening hours", choice="hours") == [
        "We're open Monday to Friday 9:00–18:00 and Saturday 10:00–14:00.",
        "What would you like to know?",
    ]
    assert (await chat.say("3"))[0].startswith("You can return anything within 30 days")
    assert (await chat.say("prices"))[-1] == "What would you like to know?"
    assert await chat.say("That's all") == ["Glad I could help. Have a nice day!"]
    assert chat.status == "ended"


async def test_faq_menu_hands_over_to_a_person(runtime: Runtime) -> None:
    chat = Chat(runtime, "faq-menu")
    await chat.start()
    assert "colleague" in (await chat.say("4"))[0]


async def test_appointment_booking_takes_a_future_date_and_confirms(runtime: Runtime) -> None:
    chat = Chat(runtime, "appointment-booking")
    assert await chat.start() == ["Which service would you like to book?"]
    assert (await chat.say("Beard trim"))[0].startswith("Which day suits you?")
    assert (await chat.say("yesterday"))[0].startswith("Please pick a day after today")
    assert await chat.say("tomorrow") == ["Morning, afternoon or evening?"]
    assert await chat.say("2") == ["What number can we text a reminder to?"]
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()
    assert await chat.say("(415) 555-0132") == [
        f"Beard trim on {tomorrow}, in the afternoon, reminder to +14155550132. Shall I book it?"
    ]
    assert await chat.say("yes") == [f"Booked! See you on {tomorrow}. Reply here if you need to change it."]
    assert (chat.vars["service"], chat.vars["slot"], chat.vars["phone"]) == ("Beard trim", "Afternoon", "+14155550132")


async def test_appointment_booking_starts_over_when_not_confirmed(runtime: Runtime) -> None:
    chat = Chat(runtime, "appointment-booking")
    await chat.start()
    for answer in ("Haircut", "12/12/2026", "Morning", "+1 415 555 0132"):
        await chat.say(answer)
    assert await chat.say("no") == ["No problem, let's start again.", "Which service would you like to book?"]
    await chat.say("Colour")
    assert chat.vars["service"] == "Colour"


@pytest.mark.parametrize(
    ("score", "segment", "question"),
    [
        ("10", "promoter", "Wonderful! What do you like most about us?"),
        ("7", "passive", "Thanks! What would make it a 10?"),
        ("0", "detractor", "Sorry to hear that. What went wrong?"),
    ],
)
async def test_nps_survey_branches_on_the_score(runtime: Runtime, score: str, segment: str, question: str) -> None:
    chat = Chat(runtime, "nps-survey")
    assert (await chat.start())[0].startswith("How likely are you to recommend Acme")
    assert await chat.say(score) == [question]
    assert await chat.say("The staff") == [f"Thank you for your feedback! ({segment}, {score}/10)"]
    assert (chat.vars["score"], chat.vars["segment"], chat.vars["reason"]) == (int(score), segment, "The staff")


async def test_quiz_keeps_the_score(runtime: Runtime) -> None:
    chat = Chat(runtime, "quiz")
    assert (await chat.start())[-1] == "Which planet is the largest?"
    assert await chat.say("Jupiter") == ["Correct! ✅", "How many planets orbit the Sun?"]
    assert await chat.say("9") == ["Not quite: it's 8.", "Which planet is closest to the Sun?"]
    assert await chat.say("1") == ["Correct! ✅", "You scored 2/3. Try again any time!"]
    assert chat.vars["score"] == 2


async def test_quiz_perfect_score_and_a_fresh_start(runtime: Runtime) -> None:
    chat = Chat(runtime, "quiz")
    await chat.start()
    for answer in ("2", "8"):
        await chat.say(answer)
    assert await chat.say("Mercury") == ["Correct! ✅", "You scored 3/3. Perfect! 🌟"]
    await chat.say("again please")  # an ended conversation starts over with the score reset
    assert chat.vars["score"] == 0


def test_the_order_status_template_calls_an_api_through_the_http_node() -> None:
    doc = json.loads((TEMPLATES / "order_status.json").read_text())
    lookup = next(n for n in doc["nodes"] if n["id"] == "lookup")
    assert lookup["type"] == "http.request" and "{{ orders_api }}" in lookup["settings"]["url"]
    # the conversation itself runs end to end against `chatloom serve` in tests/test_serve.py


async def test_start_here_teaches_by_chatting(runtime: Runtime) -> None:
    chat = Chat(runtime, "start-here")
    said = await chat.start()
    assert said[0].startswith("Welcome to Chatloom!") and said[-1] == "What would you like to learn?"
    assert (await chat.say("Add a step", choice="add"))[0].startswith("Drag a step from the palette")
    assert await chat.say("Ask a question", choice="ask") == ["Let's try one. What's your name?"]
    answer = await chat.say("Ada")
    assert answer[0].startswith("Nice to meet you, Ada!") and answer[-1] == "What would you like to learn?"
    assert chat.vars["name"] == "Ada"
    assert (await chat.say("5"))[0].startswith("Have fun!")  # the fifth option, by its number
    assert chat.status == "ended"

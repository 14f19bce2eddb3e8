"""Every input node: asks, checks the answer, saves it normalized, re-asks, gives up, times out."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from nodes.api import Inbound, Media, NodeContext, NodeType, Services, SettingsError, Step
from nodes.inputs import choice, date, email, file, multichoice, number, phone, rating, text, url, yesno
from nodes.registry import Registry

TODAY = datetime(2030, 6, 14, 10, 0)  # a Friday, and not the day the tests run: the node must ask the clock
OPTIONS = [{"title": "Pizza", "value": "pizza"}, {"title": "Pasta", "value": "pasta"}, {"title": "Salad"}]
# The least each type needs besides a prompt and a variable.
NEEDS: dict[str, dict[str, Any]] = {"input.choice": {"options": OPTIONS}, "input.multichoice": {"options": OPTIONS}}
ALL = [text.NODE, number.NODE, email.NODE, phone.NODE, url.NODE, date.NODE]
ALL += [choice.NODE, multichoice.NODE, yesno.NODE, rating.NODE, file.NODE]


class Drive:
    """Runs one input node the way the runtime does: first visit, then one call per event.

    The node's memory goes through JSON between calls, as the runtime stores it in the database.
    """

    def __init__(self, node: NodeType, **settings: object) -> None:
        self.node = node
        given = {"prompt": "Question?", "save_as": "answer", **NEEDS.get(node.type, {}), **settings}
        self.settings = node.parse(given, 1)
        self.ctx = NodeContext(services=Services(clock=lambda: TODAY))

    async def _run(self, inbound: Inbound | None, woke: bool) -> Step:
        self.ctx.inbound, self.ctx.woke = inbound, woke
        self.ctx.memory = json.loads(json.dumps(self.ctx.memory))
        return await self.node.run(self.ctx, self.settings)

    async def start(self) -> Step:
        self.ctx.memory = None  # arriving at a node starts with a fresh scratch
        return await self._run(None, False)

    async def answer(self, text: str = "", choice: str | None = None, media: Media | None = None) -> Step:
        return await self._run(Inbound(text, choice=choice, media=media), False)

    async def wake(self) -> Step:
        return await self._run(None, True)

    @property
    def saved(self) -> object:
        return self.ctx.vars.get("answer", "<nothing>")


def texts(step: Step) -> list[str]:
    return [m.text for m in step.messages]


async def accepts(node: NodeType, answer: str, saved: object, port: str = "valid", **settings: object) -> None:
    drive = Drive(node, **settings)
    await drive.start()
    step = await drive.answer(answer)
    assert (step.port, drive.saved) == (port, saved), answer
    assert type(drive.saved) is type(saved), answer  # 3 and 3.0 look alike but print differently


async def refuses(node: NodeType, answer: str, **settings: object) -> None:
    drive = Drive(node, **settings)
    await drive.start()
    step = await drive.answer(answer)
    assert step.wait == "reply" and step.port is None, f"{answer!r} was accepted"
    assert "answer" not in drive.ctx.vars


@pytest.mark.parametrize("node", ALL, ids=lambda n: n.type)
async def test_the_first_visit_asks_the_rendered_question_and_waits(node: NodeType) -> None:
    drive = Drive(node, prompt="{{ name }}, a question?")
    drive.ctx.vars["name"] = "Ann"
    step = await drive.start()
    assert step.wait == "reply" and step.port is None and step.timeout is None
    assert texts(step) == ["Ann, a question?"]
    assert "answer" not in drive.ctx.vars


@pytest.mark.parametrize(
    ("node", "answer", "saved", "settings"),
    [
        (text.NODE, "  Ann Lee ", "Ann Lee", {}),
        (text.NODE, "AB1234", "AB1234", {"pattern": "[A-Z]{2}[0-9]{4}"}),
        (text.NODE, "A1234", "A1234", {"pattern": "^[A-Za-z][0-9]{4}$"}),
        (number.NODE, "42", 42, {}),
        (number.NODE, "1,5", 1.5, {}),
        (number.NODE, "1 000", 1000, {}),
        (number.NODE, "1,000.50", 1000.5, {}),
        (number.NODE, "1.000,50", 1000.5, {}),
        (number.NODE, "3.0", 3, {"whole_numbers": True}),
        (number.NODE, "-3", -3, {"minimum": -5, "maximum": 5}),
        (email.NODE, " Ann@Example.COM ", "Ann@example.com", {}),
        (phone.NODE, "(415) 555-0132", "+14155550132", {}),
        (phone.NODE, "+44 20 7946 0958", "+442079460958", {"default_region": "US"}),
        (phone.NODE, "020 7946 0958", "+442079460958", {"default_region": "gb"}),
        (url.NODE, "example.com/path?q=1", "https://example.com/path?q=1", {}),
        (url.NODE, "http://localhost:8080", "http://localhost:8080", {}),
        (url.NODE, "münchen.de", "https://münchen.de", {}),
        (date.NODE, "31/12/2026", "2026-12-31", {}),
        (date.NODE, "03/04/2027", "2027-04-03", {}),
        (date.NODE, "03/04/2027", "2027-03-04", {"day_first": False}),
        (date.NODE, "tomorrow", "2030-06-15", {"allowed": "future"}),
        (date.NODE, "Today", "2030-06-14", {"allowed": "today_or_future"}),
        (date.NODE, "demain", "2030-06-15", {}),
        (date.NODE, "Dec 3", "2030-12-03", {}),
        (date.NODE, "monday", "2030-06-17", {}),
        (date.NODE, "1990-05-17", "1990-05-17", {"allowed": "past"}),
    ],
)
async def test_valid_answers_are_saved_normalized(node: NodeType, answer: str, saved: object, settings: dict) -> None:
    await accepts(node, answer, saved, **settings)


@pytest.mark.parametrize(
    ("node", "answer", "settings"),
    [
        (text.NODE, "", {}),
        (text.NODE, "   ", {}),
        (text.NODE, "x" * 11, {"max_length": 10}),
        (text.NODE, "ab", {"min_length": 3}),
        (text.NODE, "ab1234", {"pattern": "[A-Z]{2}[0-9]{4}"}),
        (text.NODE, "my code is AB1234", {"pattern": "[A-Z]{2}[0-9]{4}"}),  # the whole answer must fit
        # a hostile answer against a catastrophic pattern: RE2 answers at once (Python's re hung)
        (text.NODE, "a" * 4000 + "!", {"pattern": "(a+)+", "max_length": 4096}),
        (text.NODE, "x" * 4000, {"pattern": "(x+x+)+y", "max_length": 4096}),
        (number.NODE, "forty", {}),
        (number.NODE, "", {}),
        (number.NODE, "2.5", {"whole_numbers": True}),
        (number.NODE, "11", {"maximum": 10}),
        (number.NODE, "-1", {"minimum": 0}),
        (number.NODE, "nan", {}),
        (number.NODE, "inf", {}),
        (email.NODE, "ann@", {}),
        (email.NODE, "ann example.com", {}),
        (phone.NODE, "12", {}),
        (phone.NODE, "call me", {}),
        (url.NODE, "not a url", {}),
        (url.NODE, "example", {}),
        (url.NODE, "ftp://example.com", {}),
        (url.NODE, "ann@example.com", {}),  # an email address in the wrong question
        (url.NODE, "https://example.com:99999", {}),
        (date.NODE, "the 45th", {}),
        (date.NODE, "31/02/2026", {}),
        (date.NODE, "10:00", {}),  # no day in it: dateutil would quietly say "today"
        (date.NODE, "2026", {}),
        (date.NODE, "yesterday", {"allowed": "future"}),
        (date.NODE, "today", {"allowed": "future"}),
        (date.NODE, "tomorrow", {"allowed": "past"}),
        (date.NODE, "2027-05-01", {"latest": "2026-12-31"}),
        (date.NODE, "2026-01-01", {"earliest": "2026-06-01"}),
    ],
)
async def test_invalid_answers_are_refused(node: NodeType, answer: str, settings: dict) -> None:
    await refuses(node, answer, **settings)


async def test_an_invalid_answer_re_asks_then_gives_up_by_the_invalid_exit() -> None:
    drive = Drive(email.NODE, retries=2, retry_message="Hmm, {{ who }}, that is not an email.")
    drive.ctx.vars["who"] = "Ann"
    await drive.start()
    for _ in range(2):
        step = await drive.answer("nope")
        assert step.wait == "reply"
        assert texts(step) == ["Hmm, Ann, that is not an email.", "Question?"]
    step = await drive.answer("still nope")
    assert step.port == "invalid" and step.wait is None and not step.messages
    assert "answer" not in drive.ctx.vars


async def test_a_valid_answer_after_an_invalid_one_is_saved() -> None:
    drive = Drive(number.NODE, retries=1)
    await drive.start()
    assert (await drive.answer("lots")).wait == "reply"
    assert (await drive.answer("7")).port == "valid" and drive.saved == 7


async def test_tries_start_again_when_the_question_is_asked_again() -> None:
    drive = Drive(number.NODE, retries=1)
    await drive.start()
    await drive.answer("x")
    await drive.start()  # the flow came back to this node later
    assert (await drive.answer("x")).wait == "reply"


async def test_no_retries_means_the_first_invalid_answer_leaves() -> None:
    drive = Drive(number.NODE, retries=0)
    await drive.start()
    assert (await drive.answer("x")).port == "invalid"


@pytest.mark.parametrize(
    ("node", "settings", "wording"),
    [
        (number.NODE, {"minimum": 1, "maximum": 5, "whole_numbers": True}, "a whole number between 1 and 5"),
        (number.NODE, {"minimum": 0}, "a number of at least 0"),
        (email.NODE, {}, "That doesn't look like an email address. Please try again."),
        (date.NODE, {"allowed": "future"}, "a date after today"),
        (text.NODE, {"max_length": 50}, "at most 50 characters"),
        (phone.NODE, {}, "phone number"),
        (url.NODE, {}, "web address"),
    ],
)
async def test_the_default_retry_message_says_what_is_expected(node: NodeType, settings: dict, wording: str) -> None:
    drive = Drive(node, **settings)
    await drive.start()
    step = await drive.answer("")
    assert wording in step.messages[0].text and step.messages[1].text == "Question?"


@pytest.mark.parametrize("node", ALL, ids=lambda n: n.type)
async def test_a_timeout_leaves_by_the_timeout_exit_which_exists_only_when_set(node: NodeType) -> None:
    drive = Drive(node, timeout_minutes=10)
    assert (await drive.start()).timeout == 600
    assert (await drive.answer("")).timeout == 600  # a re-ask waits as long again
    assert (await drive.wake()).port == "timeout"
    assert node.output_ports(drive.settings)[-1] == "timeout"
    assert "timeout" not in node.output_ports(Drive(node).settings)


@pytest.mark.parametrize(
    ("node", "ports"),
    [
        (text.NODE, ["valid", "invalid"]),
        (number.NODE, ["valid", "invalid"]),
        (email.NODE, ["valid", "invalid"]),
        (phone.NODE, ["valid", "invalid"]),
        (url.NODE, ["valid", "invalid"]),
        (date.NODE, ["valid", "invalid"]),
        (choice.NODE, ["pizza", "pasta", "salad", "invalid"]),
        (multichoice.NODE, ["valid", "invalid"]),
        (yesno.NODE, ["yes", "no", "invalid"]),
        (rating.NODE, ["valid", "invalid"]),
        (file.NODE, ["valid", "invalid"]),
    ],
    ids=lambda v: v.type if isinstance(v, NodeType) else "",
)
def test_exits_of_each_input_type(node: NodeType, ports: list[str]) -> None:
    found = node.inspect({"prompt": "Question?", "save_as": "answer", **NEEDS.get(node.type, {})}, 1)
    assert (found.outputs, found.errors) == (ports, [])


@pytest.mark.parametrize(
    ("node", "settings", "words"),
    [
        (text.NODE, {"pattern": "(unclosed"}, "not a valid regular expression"),
        (text.NODE, {"min_length": 5, "max_length": 2}, "Shortest answer"),
        (number.NODE, {"minimum": 5, "maximum": 1}, "Smallest allowed"),
        (email.NODE, {"save_as": "my email"}, "Save answer in variable"),
        (email.NODE, {"prompt": ""}, "Question"),
        (email.NODE, {"prompt": "Hi {{ name "}, "template error"),
        (email.NODE, {"retries": 11}, "Re-ask after an invalid answer"),
        (email.NODE, {"timeout_minutes": 0}, "Give up waiting"),
        (email.NODE, {"colour": "red"}, "“colour” is not a setting"),
        (date.NODE, {"earliest": "2027-01-01", "latest": "2026-01-01"}, "Earliest date accepted"),
        (date.NODE, {"allowed": "someday"}, "Which dates are accepted"),
        (phone.NODE, {"default_region": "usa"}, "Country"),
        (phone.NODE, {"default_region": "ZZ"}, "not a known country code"),
    ],
)
def test_settings_problems_are_sentences_naming_the_field(node: NodeType, settings: dict, words: str) -> None:
    found = node.inspect({"prompt": "Question?", "save_as": "answer", **settings}, 1)
    assert any(words in problem for problem in found.errors), found.errors


def test_settings_that_do_not_fit_are_refused_by_parse() -> None:
    with pytest.raises(SettingsError, match="Save answer in variable"):
        email.NODE.parse({"prompt": "?", "save_as": "1st"}, 1)
    parsed = phone.NODE.parse({"prompt": "?", "save_as": "p", "default_region": " gb "}, 1)
    assert isinstance(parsed, phone.PhoneSettings) and parsed.default_region == "GB"


@pytest.mark.parametrize("node", ALL, ids=lambda n: n.type)
def test_every_setting_has_help_text_for_the_form(node: NodeType) -> None:
    schema = node.settings.model_json_schema()
    models = [schema, *schema.get("$defs", {}).values()]
    fields = [(name, spec) for model in models for name, spec in model.get("properties", {}).items()]
    assert fields
    assert [name for name, spec in fields if not (spec.get("title") and spec.get("description"))] == []


def test_every_input_type_loads_from_its_entry_point() -> None:
    registry = Registry.from_entry_points()
    names = {node.type for node in ALL}
    assert len(names) == 11
    assert [e for e in registry.errors if e.name in names] == []
    for name in sorted(names):
        node = registry.get(name)
        assert node is not None, name
        assert (node.category, node.version, node.waits) == ("Inputs", 1, True), name
        assert node.title.startswith("Ask") and node.description, name
        settings = node.parse({"prompt": "Your favourite?", "save_as": "x", **NEEDS.get(name, {})}, 1)
        assert node.summary is not None and node.summary(settings).startswith("Your favourite?"), name

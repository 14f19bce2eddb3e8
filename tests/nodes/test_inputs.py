"""Every input node: asks, checks the answer, saves it, re-asks, gives up, times out."""

from __future__ import annotations

from datetime import datetime

import pytest

from nodes.api import Inbound, Media, NodeContext, NodeType, Services, Step
from nodes.inputs import choice, date, email, file, multichoice, number, phone, rating, text, url, yesno

TODAY = datetime(2026, 11, 27, 10, 0)


class Drive:
    """Runs one input node the way the runtime does: first visit, then one call per answer."""

    def __init__(self, node: NodeType, **settings: object) -> None:
        self.node = node
        self.settings = node.parse({"prompt": "Question?", "save_as": "answer", **settings}, 1)
        self.ctx = NodeContext(services=Services(clock=lambda: TODAY))

    async def start(self) -> Step:
        self.ctx.inbound, self.ctx.woke = None, False
        return await self.node.run(self.ctx, self.settings)

    async def answer(self, text: str = "", choice: str | None = None, media: Media | None = None) -> Step:
        self.ctx.inbound, self.ctx.woke = Inbound(text, choice=choice, media=media), False
        return await self.node.run(self.ctx, self.settings)

    async def wake(self) -> Step:
        self.ctx.inbound, self.ctx.woke = None, True
        return await self.node.run(self.ctx, self.settings)

    @property
    def saved(self) -> object:
        return self.ctx.vars.get("answer", "<nothing>")


async def accepts(node: NodeType, answer: str, saved: object, port: str = "valid", **settings: object) -> None:
    drive = Drive(node, **settings)
    first = await drive.start()
    assert first.wait == "reply" and first.messages[0].text == "Question?"
    step = await drive.answer(answer)
    assert (step.port, drive.saved) == (port, saved), answer


async def refuses(node: NodeType, answer: str, **settings: object) -> None:
    drive = Drive(node, **settings)
    await drive.start()
    step = await drive.answer(answer)
    assert step.wait == "reply", f"{answer!r} was accepted"
    assert "answer" not in drive.ctx.vars


@pytest.mark.parametrize(
    ("node", "answer", "saved", "settings"),
    [
        (text.NODE, "  Ann Lee ", "Ann Lee", {}),
        (text.NODE, "AB1234", "AB1234", {"pattern": "^[A-Z]{2}[0-9]{4}$"}),
        (number.NODE, "42", 42, {}),
        (number.NODE, "1,5", 1.5, {}),
        (number.NODE, "1 000", 1000, {}),
        (number.NODE, "1,000.50", 1000.5, {}),
        (number.NODE, "-3", -3, {"minimum": -5, "maximum": 5}),
        (email.NODE, " Ann@Example.COM ", "Ann@example.com", {}),
        (phone.NODE, "(415) 555-0132", "+14155550132", {}),
        (phone.NODE, "+44 20 7946 0958", "+442079460958", {"default_region": "US"}),
        (url.NODE, "example.com/path?q=1", "https://example.com/path?q=1", {}),
        (url.NODE, "http://localhost:8080", "http://localhost:8080", {}),
        (date.NODE, "31/12/2026", "2026-12-31", {}),
        (date.NODE, "12/31/2026", "2026-12-31", {"day_first": False}),
        (date.NODE, "tomorrow", "2026-11-28", {"allowed": "future"}),
        (date.NODE, "Dec 3", "2026-12-03", {}),
        (rating.NODE, "4", 4, {}),
        (rating.NODE, "⭐⭐⭐", 3, {}),
        (rating.NODE, "0", 0, {"lowest": 0, "highest": 10}),
    ],
)
async def test_valid_answers_are_saved_normalized(node: NodeType, answer: str, saved: object, settings: dict) -> None:
    await accepts(node, answer, saved, **settings)


@pytest.mark.parametrize(
    ("node", "answer", "settings"),
    [
        (text.NODE, "", {}),
        (text.NODE, "x" * 11, {"max_length": 10}),
        (text.NODE, "ab1234", {"pattern": "^[A-Z]{2}[0-9]{4}$"}),
        (number.NODE, "forty", {}),
        (number.NODE, "2.5", {"whole_numbers": True}),
        (number.NODE, "11", {"maximum": 10}),
        (number.NODE, "nan", {}),
        (email.NODE, "ann@", {}),
        (email.NODE, "ann example.com", {}),
        (phone.NODE, "12", {}),
        (phone.NODE, "call me", {}),
        (url.NODE, "not a url", {}),
        (url.NODE, "ftp://example.com", {}),
        (date.NODE, "the 45th", {}),
        (date.NODE, "yesterday", {"allowed": "future"}),
        (date.NODE, "2027-05-01", {"latest": "2026-12-31"}),
        (rating.NODE, "6", {}),
        (rating.NODE, "0", {}),
        (rating.NODE, "great", {}),
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
        assert [m.text for m in step.messages] == ["Hmm, Ann, that is not an email.", "Question?"]
    step = await drive.answer("still nope")
    assert step.port == "invalid" and step.wait is None
    assert "answer" not in drive.ctx.vars


async def test_no_retries_means_the_first_invalid_answer_leaves() -> None:
    drive = Drive(number.NODE, retries=0)
    await drive.start()
    assert (await drive.answer("x")).port == "invalid"


async def test_the_default_retry_message_says_what_is_expected() -> None:
    drive = Drive(number.NODE, minimum=1, maximum=5, whole_numbers=True)
    await drive.start()
    step = await drive.answer("9")
    assert step.messages[0].text == "Please answer with a whole number between 1 and 5."


async def test_a_timeout_leaves_by_the_timeout_exit_which_exists_only_when_set() -> None:
    drive = Drive(text.NODE, timeout_minutes=10)
    first = await drive.start()
    assert first.timeout == 600
    assert (await drive.wake()).port == "timeout"
    assert "timeout" in text.NODE.output_ports(drive.settings)
    assert "timeout" not in text.NODE.output_ports(Drive(text.NODE).settings)
    assert (await Drive(text.NODE).start()).timeout is None


async def test_choice_accepts_the_button_the_title_or_the_number_and_branches() -> None:
    options = [{"title": "Opening hours", "value": "hours"}, {"title": "Prices"}, {"title": "Talk to a human"}]
    drive = Drive(choice.NODE, options=options)
    first = await drive.start()
    assert [(b.title, b.value) for b in first.messages[0].buttons] == [
        ("Opening hours", "hours"),
        ("Prices", "Prices"),
        ("Talk to a human", "Talk to a human"),
    ]
    assert choice.NODE.output_ports(drive.settings) == ["hours", "prices", "talk_to_a_human", "invalid"]
    assert (await drive.answer("", choice="hours")).port == "hours"
    assert (await drive.answer("prices")).port == "prices" and drive.saved == "Prices"
    assert (await drive.answer("3")).port == "talk_to_a_human"
    assert (await drive.answer("4")).wait == "reply"


async def test_choice_with_one_exit_and_clashing_options() -> None:
    drive = Drive(choice.NODE, options=[{"title": "A"}, {"title": "B"}], branch_per_option=False)
    await drive.start()
    assert (await drive.answer("b")).port == "valid" and drive.saved == "B"
    problems = choice.NODE.inspect(
        {"prompt": "?", "save_as": "x", "options": [{"title": "Yes!"}, {"title": "yes"}]}, 1
    ).errors
    assert any("share the exit" in p for p in problems)
    numbered = Drive(choice.NODE, options=[{"title": "1 night"}, {"title": "Invalid"}])
    assert choice.NODE.output_ports(numbered.settings)[:2] == ["opt_1_night", "opt_invalid"]


async def test_multichoice_collects_buttons_until_done_or_takes_a_typed_list() -> None:
    options = [{"title": "Pizza", "value": "pizza"}, {"title": "Pasta", "value": "pasta"}, {"title": "Salad"}]
    drive = Drive(multichoice.NODE, options=options)
    first = await drive.start()
    assert first.messages[0].multiple and first.messages[0].buttons[-1].title == "Done"
    step = await drive.answer("Pizza", choice="pizza")
    assert step.wait == "reply" and "Chosen: Pizza" in step.messages[0].text
    await drive.answer("Salad", choice="Salad")
    assert (await drive.answer("Done", choice=multichoice.DONE)).port == "valid"
    assert drive.saved == ["pizza", "Salad"]

    typed = Drive(multichoice.NODE, options=options)
    await typed.start()
    assert (await typed.answer("1, 3")).port == "valid" and typed.saved == ["pizza", "Salad"]


async def test_multichoice_enforces_how_many_may_be_chosen() -> None:
    drive = Drive(multichoice.NODE, options=[{"title": "A"}, {"title": "B"}, {"title": "C"}], max_selected=2)
    await drive.start()
    step = await drive.answer("1, 2, 3")
    assert step.wait == "reply" and "at most 2" in step.messages[0].text
    assert (await drive.answer("a and c")).port == "valid" and drive.saved == ["A", "C"]
    empty = Drive(multichoice.NODE, options=[{"title": "A"}], min_selected=1)
    await empty.start()
    assert "at least 1" in (await empty.answer("Done")).messages[0].text


@pytest.mark.parametrize(
    ("answer", "port"), [("yes", "yes"), ("Oui", "yes"), ("да", "yes"), ("N", "no"), ("nein", "no"), ("Nope.", "no")]
)
async def test_yes_no_understands_common_words(answer: str, port: str) -> None:
    drive = Drive(yesno.NODE)
    await drive.start()
    step = await drive.answer(answer)
    assert step.port == port and drive.saved is (port == "yes")


async def test_yes_no_buttons_use_their_titles() -> None:
    drive = Drive(yesno.NODE, yes_title="Sure thing", no_title="Not now")
    first = await drive.start()
    assert [b.title for b in first.messages[0].buttons] == ["Sure thing", "Not now"]
    assert (await drive.answer("not now")).port == "no"
    assert yesno.NODE.output_ports(drive.settings) == ["yes", "no", "invalid"]


async def test_file_input_takes_accepted_attachments_only() -> None:
    drive = Drive(file.NODE, accept=["image"])
    await drive.start()
    assert (await drive.answer("here you go")).wait == "reply"
    voice = Media("audio", "https://files.example/v.ogg", mime="audio/ogg")
    assert (await drive.answer(media=voice)).wait == "reply"
    photo = Media("image", "https://files.example/p.jpg", name="p.jpg", mime="image/jpeg")
    assert (await drive.answer(media=photo)).port == "valid"
    assert drive.saved == {"kind": "image", "url": "https://files.example/p.jpg", "name": "p.jpg", "mime": "image/jpeg"}


@pytest.mark.parametrize(
    ("node", "settings", "words"),
    [
        (text.NODE, {"pattern": "(unclosed"}, "not a valid regular expression"),
        (text.NODE, {"min_length": 5, "max_length": 2}, "Shortest answer"),
        (number.NODE, {"minimum": 5, "maximum": 1}, "Smallest allowed"),
        (email.NODE, {"save_as": "my email"}, "Save answer in variable"),
        (email.NODE, {"prompt": "Hi {{ name "}, "template error"),
        (choice.NODE, {"options": []}, "Options"),
        (rating.NODE, {"highest": 7}, "Highest score"),
        (phone.NODE, {"default_region": "usa"}, "Country"),
    ],
)
def test_settings_problems_are_sentences_naming_the_field(node: NodeType, settings: dict, words: str) -> None:
    found = node.inspect({"prompt": "Question?", "save_as": "answer", **settings}, 1)
    assert any(words in problem for problem in found.errors), found.errors


def test_every_input_type_is_registered(builtins) -> None:  # type: ignore[no-untyped-def]
    names = {
        "input.text",
        "input.number",
        "input.email",
        "input.phone",
        "input.url",
        "input.date",
        "input.choice",
        "input.multichoice",
        "input.yesno",
        "input.rating",
        "input.file",
    }
    assert names <= {n.type for n in builtins}
    assert all(builtins.get(n).waits for n in names)

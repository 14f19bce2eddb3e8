"""Inputs answered by buttons (choice, several choices, yes/no, rating) and by attachments."""

from __future__ import annotations

import pytest

from nodes.api import Media
from nodes.inputs import choice, file, multichoice, rating, yesno
from tests.nodes.test_inputs import OPTIONS, Drive, accepts, refuses, texts


async def test_choice_shows_buttons_and_accepts_the_button_the_title_or_the_number() -> None:
    options = [{"title": "Opening hours", "value": "hours"}, {"title": "Prices"}, {"title": "Talk to a human"}]
    drive = Drive(choice.NODE, options=options)
    first = await drive.start()
    assert [(b.title, b.value) for b in first.messages[0].buttons] == [
        ("Opening hours", "hours"),
        ("Prices", "Prices"),
        ("Talk to a human", "Talk to a human"),
    ]
    assert choice.NODE.output_ports(drive.settings) == ["hours", "prices", "talk_to_a_human", "invalid"]
    assert (await drive.answer("", choice="hours")).port == "hours" and drive.saved == "hours"
    assert (await drive.answer("opening HOURS")).port == "hours"
    assert (await drive.answer(" prices ")).port == "prices" and drive.saved == "Prices"
    assert (await drive.answer("3")).port == "talk_to_a_human" and drive.saved == "Talk to a human"


@pytest.mark.parametrize("answer", ["4", "0", "Refunds", ""])
async def test_choice_re_asks_with_the_buttons_when_no_option_is_named(answer: str) -> None:
    drive = Drive(choice.NODE)
    await drive.start()
    step = await drive.answer(answer)
    assert step.wait == "reply" and "choose one of the options" in step.messages[0].text
    assert [b.value for b in step.messages[1].buttons] == ["pizza", "pasta", "Salad"]


async def test_an_option_titled_with_a_number_wins_over_the_position() -> None:
    drive = Drive(choice.NODE, options=[{"title": "7"}, {"title": "8"}, {"title": "9"}])
    await drive.start()
    assert (await drive.answer("8")).port == "opt_8" and drive.saved == "8"
    assert (await drive.answer("2")).port == "opt_8"  # not an option's title: the second option


async def test_choice_with_one_exit_saves_the_value_and_leaves_by_valid() -> None:
    drive = Drive(choice.NODE, options=[{"title": "A"}, {"title": "B"}], branch_per_option=False, timeout_minutes=1)
    assert choice.NODE.output_ports(drive.settings) == ["valid", "invalid", "timeout"]
    await drive.start()
    assert (await drive.answer("b")).port == "valid" and drive.saved == "B"


def test_option_exits_are_short_lower_case_names() -> None:
    options = [{"title": "1 night"}, {"title": "Invalid"}, {"title": "Café crème!"}, {"title": "?", "value": "Да"}]
    found = choice.NODE.inspect({"prompt": "?", "save_as": "x", "options": options}, 1)
    assert found.outputs == ["opt_1_night", "opt_invalid", "cafe_creme", "option", "invalid"]
    assert found.errors == []


@pytest.mark.parametrize(
    ("options", "branch", "words"),
    [
        ([{"title": "Yes!"}, {"title": "yes"}], True, "share the exit “yes”"),
        ([{"title": "A", "value": "x"}, {"title": "B", "value": "X"}], False, "save the same value"),
        ([], True, "Options"),
    ],
)
def test_options_that_cannot_be_told_apart_are_a_settings_problem(options: list, branch: bool, words: str) -> None:
    found = choice.NODE.inspect({"prompt": "?", "save_as": "x", "options": options, "branch_per_option": branch}, 1)
    assert any(words in e for e in found.errors), found.errors


async def test_multichoice_collects_presses_until_done() -> None:
    drive = Drive(multichoice.NODE)
    first = await drive.start()
    question = first.messages[0]
    assert question.multiple and [b.title for b in question.buttons] == ["Pizza", "Pasta", "Salad", "Done"]
    step = await drive.answer("Salad", choice="Salad")
    assert step.wait == "reply" and texts(step) == ["Chosen: Salad. Choose more, or press “Done”."]
    step = await drive.answer("Pizza", choice="pizza")
    assert texts(step) == ["Chosen: Pizza, Salad. Choose more, or press “Done”."]
    await drive.answer("Pizza", choice="pizza")  # pressed twice: still once
    assert "answer" not in drive.ctx.vars
    assert (await drive.answer("Done", choice=multichoice.DONE)).port == "valid"
    assert drive.saved == ["pizza", "Salad"]  # in the options' order


async def test_multichoice_takes_one_typed_option_at_a_time_too() -> None:
    drive = Drive(multichoice.NODE, done_title="That's all")
    await drive.start()
    assert (await drive.answer("2")).wait == "reply"
    assert (await drive.answer("salad")).wait == "reply"
    assert (await drive.answer("that's all")).port == "valid" and drive.saved == ["pasta", "Salad"]


@pytest.mark.parametrize("typed", ["1, 3", "pizza and salad", "Salad; 1", "3,1"])
async def test_multichoice_takes_a_typed_list_at_once(typed: str) -> None:
    await accepts(multichoice.NODE, typed, ["pizza", "Salad"])


async def test_an_option_whose_title_has_and_in_it_is_one_option() -> None:
    options = [{"title": "Fish and chips"}, {"title": "Peas"}]
    drive = Drive(multichoice.NODE, options=options)
    await drive.start()
    assert (await drive.answer("fish and chips")).wait == "reply"
    assert (await drive.answer("Done")).port == "valid" and drive.saved == ["Fish and chips"]
    await accepts(multichoice.NODE, "fish and chips, peas", ["Fish and chips", "Peas"], options=options)


async def test_multichoice_refuses_a_list_naming_something_else() -> None:
    await refuses(multichoice.NODE, "pizza, sushi")


async def test_multichoice_enforces_how_many_may_be_chosen() -> None:
    drive = Drive(multichoice.NODE, options=[{"title": "A"}, {"title": "B"}, {"title": "C"}], max_selected=2)
    await drive.start()
    step = await drive.answer("1, 2, 3")
    assert step.wait == "reply" and "at most 2" in step.messages[0].text
    assert (await drive.answer("a and c")).port == "valid" and drive.saved == ["A", "C"]

    few = Drive(multichoice.NODE, min_selected=2)
    await few.start()
    await few.answer("Pizza", choice="pizza")
    step = await few.answer("Done", choice=multichoice.DONE)
    assert step.wait == "reply" and "at least 2" in step.messages[0].text
    await few.answer("Pasta", choice="pasta")  # the first press is still remembered
    assert (await few.answer("Done", choice=multichoice.DONE)).port == "valid" and few.saved == ["pizza", "pasta"]


async def test_multichoice_finishes_by_itself_at_the_most_allowed() -> None:
    drive = Drive(multichoice.NODE, max_selected=2)
    await drive.start()
    assert (await drive.answer("Pasta", choice="pasta")).wait == "reply"
    assert (await drive.answer("Pizza", choice="pizza")).port == "valid" and drive.saved == ["pizza", "pasta"]


async def test_multichoice_may_allow_choosing_nothing() -> None:
    await accepts(multichoice.NODE, "Done", [], min_selected=0)


async def test_multichoice_gives_up_after_the_retries() -> None:
    drive = Drive(multichoice.NODE, retries=1)
    await drive.start()
    assert (await drive.answer("sushi")).wait == "reply"
    assert (await drive.answer("Done")).port == "invalid"  # nothing chosen: the second invalid answer


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"min_selected": 3, "max_selected": 2}, "Fewest options to choose"),
        ({"min_selected": 4}, "more than the number of options"),
    ],
)
def test_multichoice_limits_that_cannot_be_met_are_a_settings_problem(settings: dict, words: str) -> None:
    found = multichoice.NODE.inspect({"prompt": "?", "save_as": "x", "options": OPTIONS, **settings}, 1)
    assert any(words in e for e in found.errors), found.errors


@pytest.mark.parametrize(
    ("answer", "port"),
    [
        ("yes", "yes"),
        ("Y", "yes"),
        ("true", "yes"),
        ("1", "yes"),
        ("Oui", "yes"),
        ("sí", "yes"),
        ("ja!", "yes"),
        ("да", "yes"),
        ("N", "no"),
        ("0", "no"),
        ("false", "no"),
        ("non", "no"),
        ("nein", "no"),
        ("Нет", "no"),
        ("Nope.", "no"),
    ],
)
async def test_yes_no_understands_common_words(answer: str, port: str) -> None:
    await accepts(yesno.NODE, answer, port == "yes", port=port)


@pytest.mark.parametrize("answer", ["maybe", "no problem", "yes and no", ""])
async def test_yes_no_refuses_anything_else(answer: str) -> None:
    await refuses(yesno.NODE, answer)


async def test_yes_no_buttons_use_their_titles() -> None:
    drive = Drive(yesno.NODE, yes_title="Sure thing", no_title="Not now")
    first = await drive.start()
    assert [(b.title, b.value) for b in first.messages[0].buttons] == [("Sure thing", "yes"), ("Not now", "no")]
    assert (await drive.answer("not now")).port == "no" and drive.saved is False
    assert (await drive.answer("Sure thing", choice="yes")).port == "yes" and drive.saved is True
    step = await drive.answer("perhaps")
    assert texts(step)[0] == "Please answer “Sure thing” or “Not now”."
    same = yesno.NODE.inspect({"prompt": "?", "save_as": "x", "yes_title": "OK", "no_title": "ok"}, 1)
    assert same.errors == ["The yes and no buttons have the same text."]


async def test_rating_offers_a_button_per_score() -> None:
    stars = await Drive(rating.NODE).start()
    assert [b.value for b in stars.messages[0].buttons] == ["1", "2", "3", "4", "5"]
    nps = await Drive(rating.NODE, lowest=0, highest=10).start()
    assert [b.title for b in nps.messages[0].buttons] == [str(n) for n in range(11)]


@pytest.mark.parametrize(
    ("answer", "score", "settings"),
    [
        ("4", 4, {}),
        ("4/5", 4, {}),
        ("4 stars", 4, {}),
        ("⭐⭐⭐", 3, {}),
        ("⭐️⭐️", 2, {}),  # as phones send it, with a variation selector
        ("0", 0, {"lowest": 0, "highest": 10}),
        ("10", 10, {"lowest": 0, "highest": 10}),
    ],
)
async def test_rating_saves_the_score_as_a_number(answer: str, score: int, settings: dict) -> None:
    await accepts(rating.NODE, answer, score, **settings)


@pytest.mark.parametrize(("answer", "settings"), [("6", {}), ("0", {}), ("3.5", {}), ("great", {}), ("²", {})])
async def test_rating_refuses_scores_off_the_scale(answer: str, settings: dict) -> None:
    await refuses(rating.NODE, answer, **settings)


def test_rating_scales_are_the_usual_ones() -> None:
    found = rating.NODE.inspect({"prompt": "?", "save_as": "x", "highest": 7}, 1)
    assert any("Highest score" in e for e in found.errors)


async def test_file_input_takes_accepted_attachments_only() -> None:
    drive = Drive(file.NODE, accept=["image"])
    await drive.start()
    step = await drive.answer("here you go")
    assert step.wait == "reply" and texts(step)[0] == "Please send a photo as an attachment."
    voice = Media("audio", "https://files.example/v.ogg", mime="audio/ogg")
    assert (await drive.answer(media=voice)).wait == "reply"
    photo = Media("image", "https://files.example/p.jpg", name="p.jpg", mime="image/jpeg")
    assert (await drive.answer("my photo", media=photo)).port == "valid"
    assert drive.saved == {"kind": "image", "url": "https://files.example/p.jpg", "name": "p.jpg", "mime": "image/jpeg"}


async def test_file_input_accepts_every_kind_by_default_and_gives_up_after_retries() -> None:
    drive = Drive(file.NODE, retries=0)
    await drive.start()
    voice = Media("audio", "https://files.example/v.ogg", duration=3.5)
    assert (await drive.answer(media=voice)).port == "valid"
    assert drive.saved == {"kind": "audio", "url": "https://files.example/v.ogg", "duration": 3.5}
    await drive.start()
    assert (await drive.answer("no")).port == "invalid"
    assert file.NODE.inspect({"prompt": "?", "save_as": "x", "accept": ["pdf"]}, 1).errors

"""What a channel cannot show is degraded, and a numbered answer is read back as the button."""

from __future__ import annotations

from nodes.api import Button, Media, Outbound
from runtime.channels.base import Capabilities
from runtime.channels.degrade import degrade, read_answer

WHATSAPP_LIKE = Capabilities(max_buttons=3, button_title=20, max_text=4096, audio=False)
BUTTONS = tuple(
    Button(t, v)
    for t, v in [("Opening hours", "hours"), ("Prices", "prices"), ("Returns", "returns"), ("A person", "human")]
)


def test_too_many_buttons_become_a_numbered_list() -> None:
    shown = degrade(Outbound(text="What would you like?", buttons=BUTTONS), WHATSAPP_LIKE)
    assert shown.buttons == ()
    assert "1. Opening hours" in shown.text and "4. A person" in shown.text
    assert shown.text.startswith("What would you like?")


def test_buttons_that_fit_stay_buttons() -> None:
    shown = degrade(Outbound(text="Sure?", buttons=BUTTONS[:2]), WHATSAPP_LIKE)
    assert shown.buttons == BUTTONS[:2] and shown.text == "Sure?"


def test_a_title_too_long_for_the_channel_degrades_the_list() -> None:
    long = (Button("A much longer title than twenty characters", "x"), Button("Short", "y"))
    assert degrade(Outbound(text="?", buttons=long), WHATSAPP_LIKE).buttons == ()


def test_audio_the_channel_cannot_play_becomes_a_link() -> None:
    shown = degrade(Outbound(text="Listen:", media=Media(kind="audio", url="https://x.example/a.ogg")), WHATSAPP_LIKE)
    assert shown.media is None and shown.text == "Listen:\nhttps://x.example/a.ogg"


def test_a_number_or_a_title_is_read_as_the_button() -> None:
    offered = list(BUTTONS)
    assert read_answer("2", offered) == "prices"
    assert read_answer(" returns. ", offered) == "returns"
    assert read_answer("a PERSON", offered) == "human"
    assert (
        read_answer("9", offered) is None and read_answer("maybe", offered) is None and read_answer("", offered) is None
    )


def test_text_too_long_is_cut_with_an_ellipsis() -> None:
    shown = degrade(Outbound(text="x" * 5000), WHATSAPP_LIKE)
    assert len(shown.text) == 4096 and shown.text.endswith("…")

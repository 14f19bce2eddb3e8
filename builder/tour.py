"""The guided tour of the editor: offered in the side panel until a browser has taken or declined it,
skippable at every stop, and shown again from the editor's ? button. tour.js draws it; this module
says what it shows and remembers that it was seen."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nicegui import app, ui

from builder.i18n import N_, _

SCRIPT = Path(__file__).with_name("tour.js")
SEEN = "tour_seen"  # in the browser's storage (app.storage.user): the tour is offered once
DONE_EVENT = "chatloom-tour-done"


@dataclass(frozen=True)
class Stop:
    """One stop of the tour: the part of the page it lights up (a CSS selector) and what it says."""

    target: str
    title: str
    text: str


STOPS = (  # translated when the tour starts
    Stop("[data-tour=palette]", N_("Steps to build with"),
         N_("Drag a step from here onto the canvas, or double-click it. Messages and questions come first; "
            "the search box finds any step.")),
    Stop("[data-tour=canvas]", N_("Your flow"),
         N_("Each card is a step of the conversation and shows what it says. To connect two steps, drag from "
            "the dot on a card's right edge and let go on the next one.")),
    Stop("[data-tour=side]", N_("Settings and problems"),
         N_("Click a card to change it here; every change is saved at once and can be undone. Anything that "
            "would stop the flow from working is listed below, in words.")),
    Stop("[data-tour=test-chat]", N_("Try it as you go"),
         N_("The test chat runs your draft straight away and lights up the step the conversation is at.")),
    Stop("[data-tour=publish]", N_("Publish"),
         N_("When it works, publish it. Then put it on Telegram, WhatsApp, Slack, Messenger, Instagram or "
            "your website from the Channels page.")),
)  # fmt: skip


def seen() -> bool:
    """Whether this browser has finished or skipped the tour."""
    return bool(app.storage.user.get(SEEN))


def mark_seen() -> None:
    """This browser has seen the tour (or does not want it): it is no longer offered."""
    app.storage.user[SEEN] = True


def install() -> None:
    """Make the tour available on this page (its script, and remembering when it ends)."""
    ui.add_body_html(f"<script>{SCRIPT.read_text(encoding='utf-8')}</script>")
    ui.on(DONE_EVENT, lambda _: mark_seen())


def start() -> None:
    """Show the tour from its first stop, in the builder's language."""
    stops = [
        {"target": s.target, "title": _(s.title), "text": _(s.text), "at": _("{at} of {count}", at=i, count=len(STOPS))}
        for i, s in enumerate(STOPS, start=1)
    ]
    # the tour's own buttons (tour.js writes them)
    words = {"skip": _("Skip the tour"), "back": _("Back"), "next": _("Next"), "done": _("Done")}
    said = ", ".join(json.dumps(x, ensure_ascii=False) for x in (stops, DONE_EVENT, words))
    ui.run_javascript(f"window.chatloomTour({said})")

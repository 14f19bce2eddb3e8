"""input.date: ask for a date ("31/12/2026", "Dec 31", "tomorrow"); saved as 2026-12-31."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import AskSettings, Verdict, ask, ok, ports_with_timeout, refuse

RELATIVE = {"today": 0, "tomorrow": 1, "yesterday": -1, "day after tomorrow": 2}


class DateSettings(AskSettings):
    """A question answered with a date."""

    day_first: bool = Field(
        True, title="Day before month", description="Read 03/04 as 3 April (on) or as March 4 (off)."
    )
    allowed: Literal["any", "future", "today_or_future", "past", "today_or_past"] = Field(
        "any", title="Which dates are accepted"
    )
    earliest: date | None = Field(None, title="Earliest date accepted")
    latest: date | None = Field(None, title="Latest date accepted")


def parse_date(text: str, today: date, day_first: bool) -> date | None:
    """A date as people type it, or None."""
    from dateutil import parser

    words = " ".join(text.casefold().split())
    if words in RELATIVE:
        return today + timedelta(days=RELATIVE[words])
    default = datetime(today.year, today.month, today.day)
    try:
        return parser.parse(text, dayfirst=day_first, default=default, fuzzy=False).date()
    except (ValueError, OverflowError):
        return None


def _allowed(day: date, today: date, settings: DateSettings) -> bool:
    rule = settings.allowed
    if (rule == "future" and day <= today) or (rule == "today_or_future" and day < today):
        return False
    if (rule == "past" and day >= today) or (rule == "today_or_past" and day > today):
        return False
    if settings.earliest and day < settings.earliest:
        return False
    return not (settings.latest and day > settings.latest)


async def run(ctx: NodeContext, settings: DateSettings) -> Step:
    today = ctx.services.clock().date()

    def check(answer: str) -> Verdict:
        day = parse_date(answer, today, settings.day_first)
        if day is None or not _allowed(day, today, settings):
            return refuse()
        return ok(day.isoformat())

    example = "31/12" if settings.day_first else "12/31"
    when = {
        "future": " in the future",
        "today_or_future": " from today on",
        "past": " in the past",
        "today_or_past": " up to today",
    }.get(settings.allowed, "")
    retry = f"Please give a date{when}, for example {example} or “tomorrow”."
    return await ask(ctx, settings, check, default_retry=retry)


NODE = NodeType(
    type="input.date",
    version=1,
    title="Ask for a date",
    category="Inputs",
    description="Asks for a date, understands the usual ways of writing one, and saves it as YYYY-MM-DD.",
    settings=DateSettings,
    run=run,
    outputs=ports_with_timeout("valid", "invalid"),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

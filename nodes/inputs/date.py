"""input.date: ask for a date ("31/12/2026", "Dec 31", "tomorrow"); saved as 2026-12-31."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import Field

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import INVALID, REFUSED, VALID, AskSettings, Verdict, ask, ok, ports_with_timeout

RELATIVE = {
    **dict.fromkeys(("today", "aujourd'hui", "hoy", "heute", "hoje", "oggi", "сегодня"), 0),
    **dict.fromkeys(("tomorrow", "demain", "mañana", "manana", "morgen", "amanhã", "domani", "завтра"), 1),
    **dict.fromkeys(("day after tomorrow", "après-demain", "pasado mañana", "übermorgen", "послезавтра"), 2),
    **dict.fromkeys(("yesterday", "hier", "ayer", "gestern", "ontem", "ieri", "вчера"), -1),
}
_WEEKDAYS = {name.lower() for name in (*calendar.day_name, *calendar.day_abbr)}
_RULES = {
    "future": " after today",
    "today_or_future": " from today on",
    "past": " before today",
    "today_or_past": " up to today",
}


class DateSettings(AskSettings):
    """A question answered with a date."""

    day_first: bool = Field(
        True, title="Day before month", description="On: 03/04 is 3 April. Off: 03/04 is March 4 (as in the US)."
    )
    allowed: Literal["any", "future", "today_or_future", "past", "today_or_past"] = Field(
        "any",
        json_schema_extra={
            "labels": {
                "any": "any date",
                "future": "after today",
                "today_or_future": "today or later",
                "past": "before today",
                "today_or_past": "today or earlier",
            }
        },
        title="Which dates are accepted",
        description="For example only future dates for a booking, or only past ones for a birthday.",
    )
    earliest: date | None = Field(None, title="Earliest date accepted", description="Leave empty for no limit.")
    latest: date | None = Field(None, title="Latest date accepted", description="Leave empty for no limit.")

    def problems(self) -> list[str]:
        if self.earliest and self.latest and self.earliest > self.latest:
            return ["“Earliest date accepted” is after “Latest date accepted”."]
        return []


def parse_date(text: str, today: date, day_first: bool) -> date | None:
    """A date as people type it, or None; a missing year is this year."""
    from dateutil import parser

    words = " ".join(text.casefold().replace("’", "'").split()).strip(" .!")
    if words in RELATIVE:
        return today + timedelta(days=RELATIVE[words])
    this_year = datetime(today.year, today.month, today.day)
    try:
        if words in _WEEKDAYS:  # "friday": the next one, today included
            return parser.parse(words, default=this_year).date()
        # Parsed against two different defaults: if the result moves, the answer lacked a day or
        # month ("10:00", "2026", "5") and dateutil filled it in from the default; refuse a guess.
        one = parser.parse(text, dayfirst=day_first, default=this_year.replace(month=1, day=1))
        two = parser.parse(text, dayfirst=day_first, default=this_year.replace(month=2, day=2))
    except (ValueError, OverflowError):  # ParserError is a ValueError
        return None
    return one.date() if (one.month, one.day) == (two.month, two.day) else None


def _allowed(day: date, today: date, settings: DateSettings) -> bool:
    rule = settings.allowed
    if (rule == "future" and day <= today) or (rule == "today_or_future" and day < today):
        return False
    if (rule == "past" and day >= today) or (rule == "today_or_past" and day > today):
        return False
    if settings.earliest and day < settings.earliest:
        return False
    return not (settings.latest and day > settings.latest)


def _expected(settings: DateSettings) -> str:
    """The retry wording: "Please give a date from today on, for example 31/12 or “tomorrow”."."""
    when = _RULES.get(settings.allowed, "")
    if settings.earliest:
        when += f" from {settings.earliest.isoformat()}"
    if settings.latest:
        when += f" until {settings.latest.isoformat()}"
    example = "31/12" if settings.day_first else "12/31"
    return f"Please give a date{when}, for example {example} or “tomorrow”."


async def run(ctx: NodeContext, settings: DateSettings) -> Step:
    today = ctx.services.clock().date()  # from the context, so tests and time zones are the runtime's

    def check(answer: str) -> Verdict:
        day = parse_date(answer, today, settings.day_first)
        if day is None or not _allowed(day, today, settings):
            return REFUSED
        return ok(day.isoformat())

    return await ask(ctx, settings, check, default_retry=_expected(settings))


NODE = NodeType(
    type="input.date",
    version=1,
    title="Ask for a date",
    category="Inputs",
    icon="event",
    description="Asks for a date, understands the usual ways of writing one, and saves it as YYYY-MM-DD.",
    settings=DateSettings,
    run=run,
    outputs=ports_with_timeout(VALID, INVALID),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

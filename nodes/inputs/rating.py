"""input.rating: a score on a scale (1–5 stars, 0–10 for NPS), offered as buttons."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from nodes.api import Button, NodeContext, NodeType, Step
from nodes.inputs.asking import INVALID, REFUSED, VALID, AskSettings, Verdict, ask, ok, ports_with_timeout

_STARS = re.compile(r"[⭐★]")
_STAR_LINE = re.compile(r"[⭐★\ufe0f\s]+")  # phones add an invisible variation selector after ⭐
_SCORE = re.compile(r"(\d+)\s*(?:/\s*\d+|stars?|points?|[⭐★]\ufe0f?)?", re.IGNORECASE)  # "4/5", "4 stars"


class RatingSettings(AskSettings):
    """A question answered with a score."""

    lowest: Literal[0, 1] = Field(1, title="Lowest score", description="0 for a 0–10 scale such as NPS, else 1.")
    highest: Literal[5, 10] = Field(5, title="Highest score", description="5 for stars, 10 for a 0–10 scale.")


def read_score(answer: str) -> int | None:
    """The score in "4", "4/5", "4 stars" or "⭐⭐⭐⭐", or None."""
    stars = len(_STARS.findall(answer))
    if stars and _STAR_LINE.fullmatch(answer):
        return stars
    found = _SCORE.fullmatch(answer.strip())
    return int(found.group(1)) if found else None


async def run(ctx: NodeContext, settings: RatingSettings) -> Step:
    scale = range(settings.lowest, settings.highest + 1)

    def check(answer: str) -> Verdict:
        score = read_score(answer)
        return ok(score) if score is not None and score in scale else REFUSED

    buttons = tuple(Button(str(n), str(n)) for n in scale)
    retry = f"Please answer with a number from {settings.lowest} to {settings.highest}."
    return await ask(ctx, settings, check, buttons=buttons, default_retry=retry)


NODE = NodeType(
    type="input.rating",
    version=1,
    title="Ask for a rating",
    category="Inputs",
    icon="star_half",
    description="Asks for a score on a scale, such as 1 to 5 or 0 to 10, and saves it as a number.",
    settings=RatingSettings,
    run=run,
    outputs=ports_with_timeout(VALID, INVALID),
    waits=True,
    summary=lambda s: f"{s.prompt[:60]} ({s.lowest}–{s.highest})",
)

"""input.rating: a score on a scale (1–5 stars, 0–10 for NPS), offered as buttons."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nodes.api import Button, NodeContext, NodeType, Step
from nodes.inputs.asking import AskSettings, Verdict, ask, ok, ports_with_timeout, refuse


class RatingSettings(AskSettings):
    """A question answered with a score."""

    lowest: Literal[0, 1] = Field(1, title="Lowest score")
    highest: Literal[5, 10] = Field(5, title="Highest score")


async def run(ctx: NodeContext, settings: RatingSettings) -> Step:
    scale = range(settings.lowest, settings.highest + 1)

    def check(answer: str) -> Verdict:
        text = answer.strip().rstrip("⭐★ ").strip()
        stars = answer.count("⭐") + answer.count("★")
        if not text and stars:
            text = str(stars)
        if not text.isdigit() or int(text) not in scale:
            return refuse()
        return ok(int(text))

    buttons = tuple(Button(str(n), str(n)) for n in scale)
    retry = f"Please answer with a number from {settings.lowest} to {settings.highest}."
    return await ask(ctx, settings, check, buttons=buttons, default_retry=retry)


NODE = NodeType(
    type="input.rating",
    version=1,
    title="Ask for a rating",
    category="Inputs",
    description="Asks for a score on a scale, such as 1 to 5 or 0 to 10, and saves it as a number.",
    settings=RatingSettings,
    run=run,
    outputs=ports_with_timeout("valid", "invalid"),
    waits=True,
    summary=lambda s: f"{s.prompt[:60]} ({s.lowest}–{s.highest})",
)

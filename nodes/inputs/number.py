"""input.number: ask for a number, within limits; accepts "1,5" and "1 000"."""

from __future__ import annotations

import math
import re

from pydantic import Field

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import AskSettings, Verdict, ask, ok, ports_with_timeout, refuse

_SPACES = re.compile(r"[\s\u00a0\u202f']")


class NumberSettings(AskSettings):
    """A question answered with a number."""

    minimum: float | None = Field(None, title="Smallest allowed")
    maximum: float | None = Field(None, title="Largest allowed")
    whole_numbers: bool = Field(False, title="Whole numbers only")

    def problems(self) -> list[str]:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            return ["“Smallest allowed” is larger than “Largest allowed”."]
        return []


def parse_number(text: str) -> float | int | None:
    """A number as people type it: "42", "-3.5", "1,5" (decimal comma), "1 000", "1,000.50"."""
    raw = _SPACES.sub("", text)
    if "," in raw and "." in raw:
        raw = raw.replace(",", "")  # 1,000.50
    elif raw.count(",") == 1 and len(raw.split(",")[1]) != 3:
        raw = raw.replace(",", ".")  # 1,5
    else:
        raw = raw.replace(",", "")  # 1,000
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


async def run(ctx: NodeContext, settings: NumberSettings) -> Step:
    def check(answer: str) -> Verdict:
        value = parse_number(answer)
        if value is None or (settings.whole_numbers and not isinstance(value, int)):
            return refuse()
        if settings.minimum is not None and value < settings.minimum:
            return refuse()
        if settings.maximum is not None and value > settings.maximum:
            return refuse()
        return ok(value)

    limits = ""
    if settings.minimum is not None and settings.maximum is not None:
        limits = f" between {settings.minimum:g} and {settings.maximum:g}"
    kind = "a whole number" if settings.whole_numbers else "a number"
    return await ask(ctx, settings, check, default_retry=f"Please answer with {kind}{limits}.")


NODE = NodeType(
    type="input.number",
    version=1,
    title="Ask for a number",
    category="Inputs",
    description="Asks for a number, checks it is within limits, and saves it.",
    settings=NumberSettings,
    run=run,
    outputs=ports_with_timeout("valid", "invalid"),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

"""input.number: ask for a number, within limits; accepts "1,5" and "1 000"."""

from __future__ import annotations

import math
import re

from pydantic import Field

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import INVALID, REFUSED, VALID, AskSettings, Verdict, ask, ok, ports_with_timeout

_GROUPING = re.compile(r"[\s\u00a0\u202f'_]")  # 1 000, 1'000 (Swiss): spaces and marks between digit groups


class NumberSettings(AskSettings):
    """A question answered with a number."""

    minimum: float | None = Field(None, title="Smallest allowed", description="Leave empty for no lower limit.")
    maximum: float | None = Field(None, title="Largest allowed", description="Leave empty for no upper limit.")
    whole_numbers: bool = Field(
        False, title="Whole numbers only", description="On: 2.5 is asked again; the answer is saved without decimals."
    )

    def problems(self) -> list[str]:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            return ["“Smallest allowed” is larger than “Largest allowed”."]
        return []


def parse_number(text: str) -> float | int | None:
    """A number as people type it: "42", "-3.5", "1,5", "1 000", "1,000.50", "1.000,50"; None if it is not one."""
    raw = _GROUPING.sub("", text)
    if "," in raw and "." in raw:  # the separator that comes last is the decimal one
        raw = raw.replace(".", "").replace(",", ".") if raw.rfind(",") > raw.rfind(".") else raw.replace(",", "")
    elif raw.count(",") == 1 and len(raw.split(",")[1]) != 3:
        raw = raw.replace(",", ".")  # 1,5 is a decimal comma; 1,000 (three digits after) is a thousand
    else:
        raw = raw.replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    # Whole numbers are saved as int so "{{ n }}" shows 3, not 3.0; beyond 2**53 a float is no longer exact.
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _expected(settings: NumberSettings) -> str:
    """The retry wording: "a whole number between 1 and 5"."""
    kind = "a whole number" if settings.whole_numbers else "a number"
    low, high = settings.minimum, settings.maximum
    if low is not None and high is not None:
        return f"Please answer with {kind} between {low:g} and {high:g}."
    if low is not None:
        return f"Please answer with {kind} of at least {low:g}."
    if high is not None:
        return f"Please answer with {kind} of at most {high:g}."
    return f"Please answer with {kind}."


async def run(ctx: NodeContext, settings: NumberSettings) -> Step:
    def check(answer: str) -> Verdict:
        value = parse_number(answer)
        if value is None or (settings.whole_numbers and not isinstance(value, int)):
            return REFUSED
        if settings.minimum is not None and value < settings.minimum:
            return REFUSED
        if settings.maximum is not None and value > settings.maximum:
            return REFUSED
        return ok(value)

    return await ask(ctx, settings, check, default_retry=_expected(settings))


NODE = NodeType(
    type="input.number",
    version=1,
    title="Ask for a number",
    category="Inputs",
    icon="pin",
    description="Asks for a number, checks it is within limits, and saves it.",
    settings=NumberSettings,
    run=run,
    outputs=ports_with_timeout(VALID, INVALID),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

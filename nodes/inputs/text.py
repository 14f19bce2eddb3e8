"""input.text: ask for free text, with optional length limits and a pattern it must match."""

from __future__ import annotations

import re

from pydantic import Field

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import AskSettings, Verdict, ask, ok, ports_with_timeout, refuse


class TextSettings(AskSettings):
    """A question answered in words."""

    min_length: int = Field(1, ge=0, le=4096, title="Shortest answer (characters)")
    max_length: int = Field(1000, ge=1, le=4096, title="Longest answer (characters)")
    pattern: str = Field(
        "",
        max_length=500,
        title="Pattern the answer must match",
        description="Optional regular expression, for example ^[A-Z]{2}[0-9]{4}$ for an order code.",
    )

    def problems(self) -> list[str]:
        out = []
        if self.min_length > self.max_length:
            out.append("“Shortest answer” is longer than “Longest answer”.")
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                out.append(f"“Pattern the answer must match” is not a valid regular expression: {exc}.")
        return out


async def run(ctx: NodeContext, settings: TextSettings) -> Step:
    pattern = re.compile(settings.pattern) if settings.pattern else None

    def check(answer: str) -> Verdict:
        if not settings.min_length <= len(answer) <= settings.max_length:
            return refuse()
        if pattern is not None and not pattern.search(answer):
            return refuse()
        return ok(answer)

    retry = (
        "That answer doesn't have the expected form. Please try again."
        if pattern is not None
        else f"Please answer in {settings.min_length} to {settings.max_length} characters."
    )
    return await ask(ctx, settings, check, default_retry=retry)


NODE = NodeType(
    type="input.text",
    version=1,
    title="Ask for text",
    category="Inputs",
    description="Asks a question answered in words, and saves the answer.",
    settings=TextSettings,
    run=run,
    outputs=ports_with_timeout("valid", "invalid"),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

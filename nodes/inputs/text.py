"""input.text: ask for free text, with optional length limits and a pattern it must match."""

from __future__ import annotations

from pydantic import Field

from flows.patterns import check_pattern, fullmatch
from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import INVALID, REFUSED, VALID, AskSettings, Verdict, ask, ok, ports_with_timeout


class TextSettings(AskSettings):
    """A question answered in words."""

    min_length: int = Field(
        1, ge=0, le=4096, title="Shortest answer (characters)", description="Shorter answers are asked again."
    )
    max_length: int = Field(
        1000, ge=1, le=4096, title="Longest answer (characters)", description="Longer answers are asked again."
    )
    pattern: str = Field(
        "",
        max_length=500,
        title="Pattern the answer must match",
        description="Optional regular expression the whole answer must fit, for example [A-Z]{2}[0-9]{4}.",
    )

    def problems(self) -> list[str]:
        out = []
        if self.min_length > self.max_length:
            out.append("“Shortest answer” is longer than “Longest answer”.")
        if self.pattern and (reason := check_pattern(self.pattern)) is not None:
            out.append(f"“Pattern the answer must match”: {reason}")
        return out


async def run(ctx: NodeContext, settings: TextSettings) -> Step:
    pattern = settings.pattern or None

    def check(answer: str) -> Verdict:
        # Length first: it also bounds the work the pattern can do on a hostile answer.
        if not settings.min_length <= len(answer) <= settings.max_length:
            return REFUSED
        # The whole answer must fit, as in an HTML form's pattern: what a non-programmer expects.
        if pattern is not None and not fullmatch(pattern, answer):
            return REFUSED
        return ok(answer)

    if pattern is not None:
        retry = "That answer doesn't have the expected form. Please try again."
    elif settings.min_length > 1:
        retry = f"Please answer in {settings.min_length} to {settings.max_length} characters."
    else:
        retry = f"Please type your answer, in at most {settings.max_length} characters."
    return await ask(ctx, settings, check, default_retry=retry)


NODE = NodeType(
    type="input.text",
    version=1,
    title="Ask for text",
    category="Inputs",
    icon="short_text",
    description="Asks a question answered in words, and saves the answer.",
    settings=TextSettings,
    run=run,
    outputs=ports_with_timeout(VALID, INVALID),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

"""input.multichoice: choose several options, one button at a time then “Done”, or typed as "1, 3"."""

from __future__ import annotations

import re

from pydantic import Field

from nodes.api import Button, NodeContext, NodeType, Outbound, Step
from nodes.inputs.asking import TIMEOUT, AskSettings, pick, ports_with_timeout
from nodes.inputs.choice import Option

DONE = "__done__"
_SEPARATORS = re.compile(r"\s*[,;]\s*|\s+and\s+")


class MultiChoiceSettings(AskSettings):
    """A question answered by choosing one or more options."""

    options: list[Option] = Field(min_length=1, max_length=50, title="Options")
    done_title: str = Field("Done", min_length=1, max_length=40, title="Text of the finish button")
    min_selected: int = Field(1, ge=0, le=50, title="Fewest options to choose")
    max_selected: int | None = Field(None, ge=1, le=50, title="Most options to choose")

    def problems(self) -> list[str]:
        if self.max_selected is not None and self.min_selected > self.max_selected:
            return ["“Fewest options to choose” is more than “Most options to choose”."]
        return []


async def run(ctx: NodeContext, settings: MultiChoiceSettings) -> Step:
    timeout = settings.timeout_minutes * 60 if settings.timeout_minutes else None
    options = [(ctx.render(o.title), o.saved) for o in settings.options]
    buttons = (*(Button(t, v) for t, v in options), Button(settings.done_title, DONE))
    question = Outbound(ctx.render(settings.prompt), buttons=buttons, multiple=True)
    if ctx.woke:
        return Step.next(TIMEOUT)
    if ctx.inbound is None:
        return Step.ask(question, timeout=timeout)

    picked: list[str] = ctx.memory.setdefault("picked", [])
    answer = ctx.inbound.answer.strip()
    finished = answer == DONE or answer.casefold() == settings.done_title.casefold()
    if not finished:
        parts = [p for p in _SEPARATORS.split(answer) if p]
        values = [pick(p, options) for p in parts]
        if parts and all(v is not None for v in values):
            for value in values:
                if value not in picked:
                    picked.append(value)  # type: ignore[arg-type]
            if len(parts) == 1 and ctx.inbound.choice is not None:  # one button pressed: keep collecting
                chosen = ", ".join(t for t, v in options if v in picked)
                return Step.ask(
                    Outbound(f"Chosen: {chosen}. Choose more, or press “{settings.done_title}”."), timeout=timeout
                )
            finished = True
        else:
            return _retry(ctx, settings, question, timeout, "Please choose from the options.")
    too_few = len(picked) < settings.min_selected
    too_many = settings.max_selected is not None and len(picked) > settings.max_selected
    if too_few or too_many:
        picked.clear()
        limits = f"at least {settings.min_selected}" if too_few else f"at most {settings.max_selected}"
        return _retry(ctx, settings, question, timeout, f"Please choose {limits} of the options.")
    ctx.vars[settings.save_as] = [v for _, v in options if v in picked]
    return Step.next("valid")


def _retry(
    ctx: NodeContext, settings: MultiChoiceSettings, question: Outbound, timeout: float | None, default: str
) -> Step:
    tries = ctx.memory.get("tries", 0) + 1
    ctx.memory["tries"] = tries
    if tries > settings.retries:
        return Step.next("invalid")
    retry = ctx.render(settings.retry_message) if settings.retry_message else default
    return Step.ask(Outbound(retry), question, timeout=timeout)


NODE = NodeType(
    type="input.multichoice",
    version=1,
    title="Ask to choose several",
    category="Inputs",
    description="Shows buttons; the person presses several, then “Done” (or types “1, 3”). Saves a list.",
    settings=MultiChoiceSettings,
    run=run,
    outputs=ports_with_timeout("valid", "invalid"),
    waits=True,
    summary=lambda s: f"{s.prompt[:60]} [{', '.join(o.title for o in s.options[:4])}]",
)

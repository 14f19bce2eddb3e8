"""input.multichoice: choose several options, one at a time then “Done”, or all at once as "1, 3"."""

from __future__ import annotations

import re

from pydantic import Field

from nodes.api import Button, NodeContext, NodeType, Outbound, Step
from nodes.inputs.asking import (
    INVALID,
    TIMEOUT,
    VALID,
    AskSettings,
    Option,
    pick,
    ports_with_timeout,
    re_ask,
    same_values,
    wait_seconds,
)

DONE = "__done__"  # the value of the finish button; no option can be named like it by accident
_LIST = re.compile(r"[,;\n]")
_AND = re.compile(r"\s+(?:and|&)\s+", re.IGNORECASE)


class MultiChoiceSettings(AskSettings):
    """A question answered by choosing one or more options."""

    options: list[Option] = Field(
        min_length=1, max_length=50, title="Options", description="The buttons to choose from, in order."
    )
    done_title: str = Field(
        "Done",
        min_length=1,
        max_length=40,
        title="Text of the finish button",
        description="The button pressed when everything wanted is chosen.",
    )
    min_selected: int = Field(
        1, ge=0, le=50, title="Fewest options to choose", description="0 lets the person choose nothing."
    )
    max_selected: int | None = Field(
        None,
        ge=1,
        le=50,
        title="Most options to choose",
        description="Leave empty for no limit. The question ends by itself once this many are chosen.",
    )

    def problems(self) -> list[str]:
        out = same_values(self.options)
        if self.max_selected is not None and self.min_selected > self.max_selected:
            out.append("“Fewest options to choose” is more than “Most options to choose”.")
        if self.min_selected > len(self.options):
            out.append("“Fewest options to choose” is more than the number of options.")
        return out


def _read(answer: str, options: list[tuple[str, str]]) -> list[str] | None:
    """The values a typed or pressed answer names, or None when any part names no option."""
    values: list[str] = []
    for part in filter(str.strip, _LIST.split(answer)):
        whole = pick(part, options)
        if whole is not None:  # an option titled "Fish and chips" is one option, not two
            values.append(whole)
            continue
        for word in _AND.split(part):
            value = pick(word, options)
            if value is None:
                return None
            values.append(value)
    return values or None


async def run(ctx: NodeContext, settings: MultiChoiceSettings) -> Step:
    if ctx.woke:
        return Step.next(TIMEOUT)
    options = [(ctx.render(o.title), o.saved) for o in settings.options]
    done = ctx.render(settings.done_title)
    buttons = (*(Button(t, v) for t, v in options), Button(done, DONE))
    # multiple=True tells the channel the buttons stay pressable after the first press.
    question = Outbound(ctx.render(settings.prompt), buttons=buttons, multiple=True)
    if ctx.inbound is None:
        return Step.ask(question, timeout=wait_seconds(settings))

    picked: list[str] = ctx.memory.setdefault("picked", [])  # kept in memory between presses
    limit = settings.max_selected
    answer = ctx.inbound.answer.strip()
    if answer == DONE or answer.casefold() == done.casefold():
        chosen = picked
    else:
        values = _read(answer, options)
        if values is None:
            return re_ask(ctx, settings, question, "Please choose from the options, or press a button.")
        if len(values) == 1:  # one option at a time: remember it and wait for more, or for "Done"
            if values[0] not in picked and (limit is None or len(picked) < limit):
                picked.append(values[0])
            if limit is None or len(picked) < limit:
                names = ", ".join(t for t, v in options if v in picked)
                ack = f"Chosen: {names}. Choose more, or press “{done}”."
                return Step.ask(Outbound(ack), timeout=wait_seconds(settings))
            chosen = picked
        else:  # a typed list is the whole answer
            chosen = list(dict.fromkeys(values))
    if len(chosen) < settings.min_selected:
        return re_ask(ctx, settings, question, f"Please choose at least {settings.min_selected} of the options.")
    if limit is not None and len(chosen) > limit:
        return re_ask(ctx, settings, question, f"Please choose at most {limit} of the options.")
    ctx.vars[settings.save_as] = [v for _, v in options if v in chosen]  # in the options' order
    return Step.next(VALID)


NODE = NodeType(
    type="input.multichoice",
    version=1,
    title="Ask to choose several",
    category="Inputs",
    icon="checklist",
    description="Shows buttons; the person presses several, then “Done” (or types “1, 3”). Saves a list of values.",
    settings=MultiChoiceSettings,
    run=run,
    outputs=ports_with_timeout(VALID, INVALID),
    waits=True,
    summary=lambda s: s.prompt,
)

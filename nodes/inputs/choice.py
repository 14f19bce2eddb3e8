"""input.choice: offer buttons and go one way per option (or one way for every valid answer)."""

from __future__ import annotations

import re
import unicodedata

from pydantic import Field

from nodes.api import Button, NodeContext, NodeType, Step
from nodes.inputs.asking import (
    INVALID,
    REFUSED,
    TIMEOUT,
    VALID,
    AskSettings,
    Option,
    Verdict,
    ask,
    ok,
    pick,
    same_values,
)

# An option must not take the name of the node's other exits.
_RESERVED = {VALID, INVALID, TIMEOUT, "error"}


class ChoiceSettings(AskSettings):
    """A question answered by choosing one option."""

    options: list[Option] = Field(
        min_length=1, max_length=50, title="Options", description="The buttons to choose from, in order."
    )
    branch_per_option: bool = Field(
        True,
        title="One exit per option",
        description="On: each option gets its own exit. Off: every option leaves by one “valid” exit.",
    )

    def problems(self) -> list[str]:
        same = same_values(self.options)
        ports = [port_of(o) for o in self.options]
        clash = sorted({p for p in ports if ports.count(p) > 1})
        if self.branch_per_option and clash and not same:
            return [f"Two options would share the exit “{clash[0]}”: give them different values."]
        return same


def port_of(option: Option) -> str:
    """The exit an option leads to: its value as a short lower-case name ("Talk to us!" → talk_to_us)."""
    plain = unicodedata.normalize("NFKD", option.saved).encode("ascii", "ignore").decode()  # café → cafe
    slug = re.sub(r"[^a-z0-9_]+", "_", plain.lower()).strip("_") or "option"
    return f"opt_{slug}" if slug[0].isdigit() or slug in _RESERVED else slug


def _outputs(settings: ChoiceSettings | None) -> list[str]:
    if settings is None:  # settings that do not parse have no exits worth drawing
        return []
    ports = [port_of(o) for o in settings.options] if settings.branch_per_option else [VALID]
    ports.append(INVALID)
    if settings.timeout_minutes:
        ports.append(TIMEOUT)
    return ports


async def run(ctx: NodeContext, settings: ChoiceSettings) -> Step:
    options = [(ctx.render(o.title), o.saved) for o in settings.options]
    ports = {o.saved: port_of(o) for o in settings.options}

    def check(answer: str) -> Verdict:
        value = pick(answer, options)
        if value is None:
            return REFUSED
        return ok(value, ports[value] if settings.branch_per_option else VALID)

    buttons = tuple(Button(title, value) for title, value in options)
    retry = "Please choose one of the options: press a button, or type its number."
    return await ask(ctx, settings, check, buttons=buttons, default_retry=retry)


NODE = NodeType(
    type="input.choice",
    version=1,
    title="Ask to choose one",
    category="Inputs",
    icon="radio_button_checked",
    description="Shows buttons; the answer can be pressed, typed, or given by its number. Saves the option's value.",
    settings=ChoiceSettings,
    run=run,
    outputs=_outputs,
    waits=True,
    summary=lambda s: s.prompt,
    exits=lambda s: {port_of(o): o.title for o in s.options} if s.branch_per_option else {},
)

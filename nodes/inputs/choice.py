"""input.choice: offer buttons and go one way per option (or one way for every valid answer)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from nodes.api import Button, NodeContext, NodeType, Step
from nodes.inputs.asking import TIMEOUT, AskSettings, Verdict, ask, ok, pick, refuse


class Option(BaseModel):
    """One button."""

    title: str = Field(min_length=1, max_length=80, title="Button text")
    value: str = Field("", max_length=100, title="Value saved", description="Leave empty to save the button text.")

    @property
    def saved(self) -> str:
        return self.value or self.title


class ChoiceSettings(AskSettings):
    """A question answered by choosing one option."""

    options: list[Option] = Field(min_length=1, max_length=50, title="Options")
    branch_per_option: bool = Field(
        True, title="One exit per option", description="On: each option gets its own exit. Off: one “valid” exit."
    )

    def problems(self) -> list[str]:
        ports = [port_of(o) for o in self.options]
        dupes = sorted({p for p in ports if ports.count(p) > 1})
        if self.branch_per_option and dupes:
            return [f"Two options would share the exit “{dupes[0]}”: give them different values."]
        return []


def port_of(option: Option) -> str:
    """The exit an option leads to: its value, as a short lower-case name."""
    slug = re.sub(r"[^a-z0-9_]+", "_", option.saved.casefold()).strip("_") or "option"
    return f"opt_{slug}" if slug[0].isdigit() or slug in ("invalid", TIMEOUT, "error") else slug


def _outputs(settings: ChoiceSettings | None) -> list[str]:
    if settings is None:
        return []
    ports = [port_of(o) for o in settings.options] if settings.branch_per_option else ["valid"]
    ports.append("invalid")
    if settings.timeout_minutes:
        ports.append(TIMEOUT)
    return ports


async def run(ctx: NodeContext, settings: ChoiceSettings) -> Step:
    options = [(ctx.render(o.title), o.saved) for o in settings.options]
    ports = {o.saved: port_of(o) for o in settings.options}

    def check(answer: str) -> Verdict:
        value = pick(answer, options)
        if value is None:
            return refuse()
        return ok(value, ports[value] if settings.branch_per_option else "valid")

    buttons = tuple(Button(title, value) for title, value in options)
    return await ask(ctx, settings, check, buttons=buttons, default_retry="Please choose one of the options.")


NODE = NodeType(
    type="input.choice",
    version=1,
    title="Ask to choose one",
    category="Inputs",
    description="Shows buttons; the answer can be pressed, typed, or given by its number.",
    settings=ChoiceSettings,
    run=run,
    outputs=_outputs,
    waits=True,
    summary=lambda s: f"{s.prompt[:60]} [{', '.join(o.title for o in s.options[:4])}]",
)

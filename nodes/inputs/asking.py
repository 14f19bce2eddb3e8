"""What every input node shares: ask, wait for the answer, check it, re-ask, give up, time out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from flows.models import VARIABLE_PATTERN
from nodes.api import Button, NodeContext, Outbound, Step

TIMEOUT = "timeout"


class AskSettings(BaseModel):
    """Settings every question has."""

    prompt: str = Field(
        min_length=1, max_length=4096, title="Question", description="What the bot asks. {{ name }} inserts a variable."
    )
    save_as: str = Field(
        pattern=VARIABLE_PATTERN,
        title="Save answer in variable",
        description="The variable that keeps the answer, for later messages and conditions.",
    )
    retry_message: str = Field(
        "",
        max_length=1000,
        title="Message after an invalid answer",
        description="Said before asking again. Leave empty for the usual wording.",
    )
    retries: int = Field(
        2,
        ge=0,
        le=10,
        title="Re-ask after an invalid answer",
        description="How many times to ask again before giving up.",
    )
    timeout_minutes: float | None = Field(
        None,
        gt=0,
        le=60 * 24 * 30,
        title="Give up waiting after (minutes)",
        description="Leave empty to wait for ever. When set, the node gets a “timeout” exit.",
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of checking one answer: the value to keep, or why it was refused."""

    value: Any = None
    problem: str | None = None
    port: str = "valid"


def ok(value: Any, port: str = "valid") -> Verdict:
    return Verdict(value=value, port=port)


def refuse(problem: str = "") -> Verdict:
    return Verdict(problem=problem or "invalid")


def ports_with_timeout(*ports: str) -> Callable[[Any], list[str]]:
    """Output ports that gain "timeout" when the settings set a timeout."""

    def outputs(settings: Any) -> list[str]:
        timed = settings is not None and getattr(settings, "timeout_minutes", None)
        return [*ports, TIMEOUT] if timed else list(ports)

    return outputs


async def ask(
    ctx: NodeContext,
    settings: AskSettings,
    check: Callable[[str], Verdict],
    *,
    default_retry: str,
    buttons: tuple[Button, ...] = (),
    multiple: bool = False,
    check_inbound: Callable[[NodeContext], Verdict] | None = None,
) -> Step:
    """The whole life of a question, for any input type; `check` judges a typed or pressed answer."""
    timeout = settings.timeout_minutes * 60 if settings.timeout_minutes else None
    question = Outbound(ctx.render(settings.prompt), buttons=buttons, multiple=multiple)
    if ctx.woke:
        return Step.next(TIMEOUT)
    if ctx.inbound is None:
        return Step.ask(question, timeout=timeout)
    verdict = check_inbound(ctx) if check_inbound else check(ctx.inbound.answer.strip())
    if verdict.problem is None:
        ctx.vars[settings.save_as] = verdict.value
        return Step.next(verdict.port)
    tries = ctx.memory.get("tries", 0) + 1
    ctx.memory["tries"] = tries
    if tries > settings.retries:
        return Step.next("invalid")
    retry = ctx.render(settings.retry_message) if settings.retry_message else default_retry
    return Step.ask(Outbound(retry), question, timeout=timeout)


def pick(answer: str, options: list[tuple[str, str]]) -> str | None:
    """The value of the option the answer names: by value, by title (any case), or by its number."""
    wanted = answer.strip().casefold()
    for title, value in options:
        if wanted in (value.casefold(), title.casefold()):
            return value
    if wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1][1]
    return None

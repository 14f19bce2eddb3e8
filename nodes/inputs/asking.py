"""What every input node shares: ask, wait for the answer, check it, re-ask, give up, time out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from flows.models import VARIABLE_PATTERN
from nodes.api import Button, NodeContext, Outbound, Step

VALID, INVALID, TIMEOUT = "valid", "invalid", "timeout"


class AskSettings(BaseModel):
    """Settings every question has."""

    prompt: str = Field(
        min_length=1,
        max_length=4096,
        title="Question",
        description="What the bot asks. {{ name }} inserts a variable.",
        json_schema_extra={"shown_in_chat": True},  # the builder previews it as a chat bubble
    )
    save_as: str = Field(
        pattern=VARIABLE_PATTERN,
        title="Save answer in variable",
        description="The variable that keeps the answer, for later messages and conditions.",
    )
    # Empty means "the node's own wording": several node types build it from their other settings
    # ("a whole number between 1 and 5"), which a fixed default in the form could not follow.
    retry_message: str = Field(
        "",
        max_length=1000,
        title="Message after an invalid answer",
        description="Said before asking again. Leave empty for a message that says what is expected.",
        json_schema_extra={"shown_in_chat": True},
    )
    retries: int = Field(
        2,
        ge=0,
        le=10,
        title="Re-ask after an invalid answer",
        description="How many times to ask again before leaving by the “invalid” exit.",
    )
    timeout_minutes: float | None = Field(
        None,
        gt=0,
        le=60 * 24 * 30,
        title="Give up waiting after (minutes)",
        description="Leave empty to wait for ever. When set, the node gets a “timeout” exit.",
    )


class Option(BaseModel):
    """One option of a choice question, shown as a button."""

    title: str = Field(min_length=1, max_length=80, title="Button text", description="What the person sees.")
    value: str = Field("", max_length=100, title="Value saved", description="Leave empty to save the button text.")

    @property
    def saved(self) -> str:
        return self.value or self.title


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of checking one answer: the value to keep and the exit, or a refusal."""

    value: Any = None
    refused: bool = False
    port: str = VALID


REFUSED = Verdict(refused=True)


def ok(value: Any, port: str = VALID) -> Verdict:
    return Verdict(value=value, port=port)


def ports_with_timeout(*ports: str) -> Callable[[Any], list[str]]:
    """Output ports that gain "timeout" when the settings set a timeout."""

    def outputs(settings: Any) -> list[str]:
        timed = settings is not None and getattr(settings, "timeout_minutes", None)
        return [*ports, TIMEOUT] if timed else list(ports)

    return outputs


def wait_seconds(settings: AskSettings) -> float | None:
    """How long to wait for an answer before the "timeout" exit; None waits for ever."""
    return settings.timeout_minutes * 60 if settings.timeout_minutes else None


def re_ask(ctx: NodeContext, settings: AskSettings, question: Outbound, default_retry: str) -> Step:
    """Say what was wrong and ask again, or leave by "invalid" once the retries are used up."""
    tries = ctx.memory.get("tries", 0) + 1
    ctx.memory["tries"] = tries  # memory lives while the node waits, so this counts across answers
    if tries > settings.retries:
        return Step.next(INVALID)
    retry = ctx.render(settings.retry_message) if settings.retry_message else default_retry
    return Step.ask(Outbound(retry), question, timeout=wait_seconds(settings))


async def ask(
    ctx: NodeContext,
    settings: AskSettings,
    check: Callable[[str], Verdict],
    *,
    default_retry: str,
    buttons: tuple[Button, ...] = (),
    check_inbound: Callable[[NodeContext], Verdict] | None = None,
) -> Step:
    """The whole life of a question; `check` judges the trimmed answer (`check_inbound` the raw event)."""
    if ctx.woke:
        return Step.next(TIMEOUT)
    question = Outbound(ctx.render(settings.prompt), buttons=buttons)
    if ctx.inbound is None:
        return Step.ask(question, timeout=wait_seconds(settings))
    verdict = check_inbound(ctx) if check_inbound else check(ctx.inbound.answer.strip())
    if verdict.refused:
        return re_ask(ctx, settings, question, default_retry)
    ctx.vars[settings.save_as] = verdict.value
    return Step.next(verdict.port)


def same_values(options: list[Option]) -> list[str]:
    """A problem when two options save the same value: typed answers could not tell them apart."""
    seen: set[str] = set()
    for option in options:
        key = option.saved.casefold()
        if key in seen:
            return [f"Two options save the same value “{option.saved}”: give them different values."]
        seen.add(key)
    return []


def pick(answer: str, options: list[tuple[str, str]]) -> str | None:
    """The value of the option the answer names: by value, by title (any case), or by its number."""
    wanted = " ".join(answer.split()).casefold()
    for title, value in options:
        if wanted in (value.casefold(), title.casefold()):
            return value
    if wanted.isdecimal() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1][1]
    return None

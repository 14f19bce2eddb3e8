"""memory.remember: keep a fact (or the user's last message) for later conversations.

Kept for this user only (the default) or for every user of the bot, with the user and the flow
beside it; or, given a profile key, kept as one entry of the user's profile (name, language…).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from nodes.ai.memory import last_message, memory_of
from nodes.api import NodeContext, NodeType, Step

PROFILE_KEY_PATTERN = r"^$|^[A-Za-z_][A-Za-z0-9_ -]{0,63}$"


class RememberSettings(BaseModel):
    """Settings of a step that keeps a fact in the bot's long-term memory."""

    text: str = Field(
        "",
        max_length=2000,
        title="What to remember",
        description="A fact, e.g. “{{ name }} prefers email”. Leave empty to remember the user's last message.",
    )
    scope: Literal["user", "bot"] = Field(
        "user",
        title="Who may be reminded of it",
        description="“user”: only this user's conversations (the usual choice). “bot”: every user of this bot.",
    )
    profile_key: str = Field(
        "",
        max_length=64,
        pattern=PROFILE_KEY_PATTERN,
        title="Save in the user's profile as",
        description="Give a name such as name, language or favourite_colour to keep the text as that entry of "
        "the user's profile instead (AI steps can read the profile). Leave empty to keep it as a memory.",
    )


async def run(ctx: NodeContext, settings: RememberSettings) -> Step:
    text = ctx.render(settings.text).strip() if settings.text else last_message(ctx)
    if not text:  # nothing was said this turn: there is nothing to keep
        return Step.next("out")
    memory = memory_of(ctx)
    if settings.profile_key:
        await memory.set_profile(ctx.bot, ctx.user, settings.profile_key, text)
    else:
        await memory.remember(ctx.bot, ctx.user, text, scope=settings.scope, flow=ctx.flow_id)
    return Step.next("out")


def _summary(s: RememberSettings) -> str:
    what = s.text[:60] or "the last message"
    return f"{what} → profile “{s.profile_key}”" if s.profile_key else f"{what} (for the {s.scope})"


NODE = NodeType(
    type="memory.remember",
    version=1,
    title="Remember",
    category="AI",
    icon="bookmark_add",
    description="Keeps a fact about the user (or for the whole bot) for later conversations.",
    settings=RememberSettings,
    run=run,
    summary=_summary,
)

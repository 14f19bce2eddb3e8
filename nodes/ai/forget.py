"""memory.forget: the user asked the bot to forget them (in this bot), or one thing about them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from nodes.ai.memory import memory_of
from nodes.ai.remember import PROFILE_KEY_PATTERN
from nodes.api import NodeContext, NodeType, Step


class ForgetSettings(BaseModel):
    """Settings of a step that forgets what the bot kept about the user."""

    key: str = Field(
        "",
        max_length=64,
        pattern=PROFILE_KEY_PATTERN,
        title="Only this profile entry",
        description="e.g. favourite_colour. Leave empty to forget everything this user told this bot: "
        "their profile, their memories and the facts they gave for every user.",
    )


async def run(ctx: NodeContext, settings: ForgetSettings) -> Step:
    await memory_of(ctx).forget(ctx.bot, ctx.user, settings.key or None)
    return Step.next("out")


NODE = NodeType(
    type="memory.forget",
    version=1,
    title="Forget the user",
    category="AI",
    icon="delete_sweep",
    description="Forgets what this bot kept about the user (profile and memories), or one profile entry.",
    settings=ForgetSettings,
    run=run,
    summary=lambda s: f"profile entry “{s.key}”" if s.key else "everything about the user",
)

"""memory.recall: find remembered facts close in meaning to a question, into a variable.

Searches this user's memories (the default), the bot's shared ones, or both, and leaves by
“found” with the best matches one a line, or by “none”. Another user's memories are never searched.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from flows.models import VARIABLE_PATTERN
from nodes.ai.memory import last_message, memory_of, numbered
from nodes.api import NodeContext, NodeType, Step


class RecallSettings(BaseModel):
    """Settings of a step that searches the bot's long-term memory."""

    query: str = Field(
        "",
        max_length=2000,
        title="Look for",
        description="What to search for, e.g. {{ question }}. Leave empty to search for the user's last message.",
    )
    scope: Literal["user", "bot", "both"] = Field(
        "user",
        title="Search",
        description="“user”: what this user told the bot. “bot”: facts kept for every user. “both”: either.",
    )
    top_k: int = Field(3, ge=1, le=20, title="At most this many facts")
    min_similarity: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        title="Least similarity",
        description="How close in meaning a fact must be, from 0 (anything) to 1 (the same words). A question "
        "and the fact that answers it are often only 0.3 alike; raise it if unrelated facts come back.",
    )
    save_as: str = Field(
        "memories",
        pattern=VARIABLE_PATTERN,
        title="Save the facts in variable",
        description="Gets the facts found, one a line, best first (ready to put in an AI prompt).",
    )


async def run(ctx: NodeContext, settings: RecallSettings) -> Step:
    query = ctx.render(settings.query).strip() if settings.query else last_message(ctx)
    found = []
    if query:
        found = await memory_of(ctx).recall(
            ctx.bot,
            ctx.user,
            query,
            scope=settings.scope,
            top_k=settings.top_k,
            min_similarity=settings.min_similarity,
        )
    ctx.vars[settings.save_as] = numbered([m.text for m in found])
    return Step.next("found" if found else "none")


NODE = NodeType(
    type="memory.recall",
    version=1,
    title="Recall",
    category="AI",
    icon="psychology",
    description="Finds remembered facts close in meaning to a question (this user's, or the bot's).",
    settings=RecallSettings,
    run=run,
    outputs=("found", "none"),
    summary=lambda s: f"{s.query[:60] or 'the last message'} → {s.save_as}",
)

"""memory.knowledge: search the documents uploaded for this bot and keep the passages found.

The passages go into one variable, each headed by its document's name, so an AI step can answer
from them and say where the answer comes from; the names alone go into another variable.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.models import VARIABLE_PATTERN
from nodes.ai.memory import last_message, memory_of
from nodes.api import NodeContext, NodeType, Step


class KnowledgeSettings(BaseModel):
    """Settings of a step that searches the bot's knowledge base."""

    query: str = Field(
        "",
        max_length=2000,
        title="Look for",
        description="What to search for, e.g. {{ question }}. Leave empty to search for the user's last message.",
    )
    top_k: int = Field(3, ge=1, le=10, title="At most this many passages")
    min_similarity: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        title="Least similarity",
        description="How close in meaning a passage must be, from 0 (anything) to 1 (the same words).",
    )
    save_as: str = Field(
        "passages",
        pattern=VARIABLE_PATTERN,
        title="Save the passages in variable",
        description="Gets each passage found under its document's name, e.g. [returns.pdf] Items can be…",
    )
    sources_as: str = Field(
        "sources",
        pattern=VARIABLE_PATTERN,
        title="Save the document names in variable",
        description="Gets the names of the documents the passages come from, separated by commas.",
    )


async def run(ctx: NodeContext, settings: KnowledgeSettings) -> Step:
    query = ctx.render(settings.query).strip() if settings.query else last_message(ctx)
    found = []
    if query:
        found = await memory_of(ctx).search_knowledge(
            ctx.bot, query, top_k=settings.top_k, min_similarity=settings.min_similarity
        )
    ctx.vars[settings.save_as] = "\n\n".join(f"[{p.source}] {p.text}" for p in found)
    ctx.vars[settings.sources_as] = ", ".join(dict.fromkeys(p.source for p in found))
    return Step.next("found" if found else "none")


NODE = NodeType(
    type="memory.knowledge",
    version=1,
    title="Knowledge base",
    category="AI",
    icon="menu_book",
    description="Searches the documents uploaded for this bot; an AI step can answer from what it finds.",
    settings=KnowledgeSettings,
    run=run,
    outputs=("found", "none"),
    summary=lambda s: f"{s.query[:60] or 'the last message'} → {s.save_as}",
)

"""flow.start: where a conversation begins."""

from __future__ import annotations

from pydantic import BaseModel

from nodes.api import NodeContext, NodeType, Step


class StartSettings(BaseModel):
    """The start node has nothing to set."""


_NEXT = Step.next("out")


async def run(ctx: NodeContext, settings: StartSettings) -> Step:
    return _NEXT


NODE = NodeType(
    type="flow.start",
    version=1,
    title="Start",
    category="Flow",
    icon="play_arrow",
    description="Where the conversation begins.",
    settings=StartSettings,
    run=run,
    inputs=(),
)

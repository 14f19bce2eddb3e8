"""flow.jump: continue at another step of the same flow, without drawing a long line."""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.models import ID_PATTERN
from nodes.api import NodeContext, NodeType, Step


class JumpSettings(BaseModel):
    """Settings of a jump to another step."""

    target: str = Field(
        pattern=ID_PATTERN,
        title="Go to step",
        description="The step the conversation continues at. Pick it on the canvas.",
    )


async def run(ctx: NodeContext, settings: JumpSettings) -> Step:
    return Step.jump(settings.target)


NODE = NodeType(
    type="flow.jump",
    version=1,
    title="Jump",
    category="Flow",
    icon="redo",
    description="Continues the conversation at another step of this flow.",
    settings=JumpSettings,
    run=run,
    outputs=(),
    # The target is an edge the canvas does not draw: reachability and loop checks need it.
    links=lambda s: [s.target],
    summary=lambda s: f"→ {s.target}",
)

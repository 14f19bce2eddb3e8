"""flow.call: run another flow as a sub-flow, sharing some variables, then come back."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from flows.models import ID_PATTERN, VARIABLE_PATTERN
from nodes.api import NodeContext, NodeType, Step


class CallFlowSettings(BaseModel):
    """Settings of a call to another flow."""

    flow_id: str = Field(
        pattern=ID_PATTERN,
        title="Flow to run",
        description="The other flow. When it ends, this flow continues by “out”; if it cannot be found, by “error”.",
    )
    share: list[str] = Field(
        default_factory=list,
        max_length=100,
        title="Shared variables",
        description="Variables both flows use: the other flow starts with their values here, "
        "and changes it makes to them come back. Other variables stay separate.",
    )

    def problems(self) -> list[str]:
        bad = [name for name in self.share if not re.match(VARIABLE_PATTERN, name)]
        return [
            f"“{name}” is not a variable name: use letters, digits and _ and do not start with a digit." for name in bad
        ]


async def run(ctx: NodeContext, settings: CallFlowSettings) -> Step:
    # The runtime runs the sub-flow and chooses "out" or "error"; this node only says which flow.
    return Step.call_flow(settings.flow_id, tuple(dict.fromkeys(settings.share)))


NODE = NodeType(
    type="flow.call",
    version=1,
    title="Run another flow",
    category="Flow",
    icon="account_tree",
    description="Runs another flow, then continues here when it ends.",
    settings=CallFlowSettings,
    run=run,
    outputs=("out", "error"),
    summary=lambda s: f"run {s.flow_id}" + (f" (sharing {', '.join(s.share)})" if s.share else ""),
)

"""flow.wait: pause the conversation for a while (a delay, a reminder later), then continue."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from nodes.api import NodeContext, NodeType, Outbound, Step

Unit = Literal["seconds", "minutes", "hours", "days"]
SECONDS: dict[str, int] = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
MAX_SECONDS = 365 * 86400
_UNTIL = "until"  # key in ctx.memory: when the wait ends, as a POSIX timestamp


class WaitSettings(BaseModel):
    """Settings of a pause."""

    amount: float = Field(5, gt=0, title="Wait for", description="How long to pause, in the unit below.")
    unit: Unit = Field("seconds", title="Unit")
    message: str = Field(
        "",
        max_length=4096,
        title="Message before waiting",
        description="Optional, sent when the pause begins, such as “Let me check…”. {{ name }} inserts a variable.",
    )

    @property
    def seconds(self) -> float:
        """The pause in seconds."""
        return self.amount * SECONDS[self.unit]

    def problems(self) -> list[str]:
        if self.seconds > MAX_SECONDS:
            return ["A pause may last at most 365 days."]
        return []


async def run(ctx: NodeContext, settings: WaitSettings) -> Step:
    if ctx.woke:
        ctx.memory.pop(_UNTIL, None)
        return Step.next("out")
    now = ctx.services.clock().timestamp()
    if ctx.inbound is not None and _UNTIL in ctx.memory:
        # The person wrote while we wait: keep the original end time instead of starting over,
        # and do not repeat the message.
        return Step.sleep(max(0.0, float(ctx.memory[_UNTIL]) - now))
    ctx.memory[_UNTIL] = now + settings.seconds
    text = ctx.render(settings.message)
    return Step.sleep(settings.seconds, *([Outbound(text=text)] if text.strip() else []))


def _summary(s: WaitSettings) -> str:
    unit = s.unit[:-1] if s.amount == 1 else s.unit
    return f"wait {s.amount:g} {unit}"


NODE = NodeType(
    type="flow.wait",
    version=1,
    title="Wait",
    category="Flow",
    icon="schedule",
    description="Pauses the conversation for a while, then continues.",
    settings=WaitSettings,
    run=run,
    # Time passes here, so a loop through a wait is not a busy loop.
    waits=True,
    summary=_summary,
)

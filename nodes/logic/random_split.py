"""split.random: send people down one of several ways at random, by weight (A/B tests)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.models import VARIABLE_PATTERN
from nodes.api import NodeContext, NodeType, Step
from nodes.registry import PORT_NAME


class Variant(BaseModel):
    """One way out, and how often it is taken."""

    port: str = Field(
        pattern=PORT_NAME.pattern,
        max_length=40,
        title="Exit name",
        description="Short lower-case name of this way out, such as “a” or “short_text”.",
    )
    weight: float = Field(
        1,
        ge=0,
        le=1_000_000,
        title="Share",
        description="How often this way is taken compared with the others: 50 and 50 is half and half; 0 turns it off.",
    )


class RandomSplitSettings(BaseModel):
    """Settings of a random split."""

    variants: list[Variant] = Field(
        default_factory=lambda: [Variant(port="a", weight=50), Variant(port="b", weight=50)],
        min_length=2,
        max_length=20,
        title="Variants",
    )
    save_as: str | None = Field(
        None,
        pattern=VARIABLE_PATTERN,
        title="Save variant in variable",
        description="Optional: the variable that remembers which way this person went, for reports.",
    )
    sticky: bool = Field(
        True,
        title="Same variant every time",
        description="When this person comes back to this step, send them the way they went before "
        "(needs “Save variant in variable”).",
    )

    def problems(self) -> list[str]:
        out = []
        seen: set[str] = set()
        for v in self.variants:
            if v.port in seen:
                out.append(f"Two variants are called “{v.port}”: give each its own exit name.")
            seen.add(v.port)
        if not any(v.weight > 0 for v in self.variants):
            out.append("Every variant has a share of 0: give at least one a share above 0.")
        return out


async def run(ctx: NodeContext, settings: RandomSplitSettings) -> Step:
    ports = [v.port for v in settings.variants]
    before = ctx.vars.get(settings.save_as) if settings.save_as else None
    if settings.sticky and before in ports:
        return Step.next(before)
    weights = [v.weight for v in settings.variants]
    # All-zero weights are refused when the flow is saved; should one slip through, split evenly.
    chosen = ctx.services.random.choices(ports, weights=weights if sum(weights) > 0 else None)[0]
    if settings.save_as:
        ctx.vars[settings.save_as] = chosen
    return Step.next(chosen)


def _summary(s: RandomSplitSettings) -> str:
    total = sum(v.weight for v in s.variants) or 1
    return " · ".join(f"{v.port} {100 * v.weight / total:.0f}%" for v in s.variants)


NODE = NodeType(
    type="split.random",
    version=1,
    title="Random split",
    category="Logic",
    icon="shuffle",
    description="Sends each person one of several ways at random, for A/B tests.",
    settings=RandomSplitSettings,
    run=run,
    outputs=lambda s: [v.port for v in s.variants],
    summary=_summary,
    exits=lambda s: {
        v.port: f"{v.port} · {100 * v.weight / (sum(x.weight for x in s.variants) or 1):.0f}%" for v in s.variants
    },
)

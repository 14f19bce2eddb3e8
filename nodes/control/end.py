"""flow.end: say a last message (optional) and end the conversation."""

from __future__ import annotations

from pydantic import BaseModel, Field

from nodes.api import NodeContext, NodeType, Outbound, Step


class EndSettings(BaseModel):
    """Settings of the step that ends the conversation."""

    message: str = Field(
        "",
        max_length=4096,
        title="Closing message",
        description="Optional last words, such as “Thanks, talk soon!”. {{ name }} inserts a variable.",
        json_schema_extra={"shown_in_chat": True},  # the builder previews it as a chat bubble
    )


async def run(ctx: NodeContext, settings: EndSettings) -> Step:
    text = ctx.render(settings.message)
    # A template that fills in to nothing must not send an empty bubble.
    return Step.finish(Outbound(text=text)) if text.strip() else Step.finish()


NODE = NodeType(
    type="flow.end",
    version=1,
    title="End",
    category="Flow",
    icon="flag",
    description="Ends the conversation, optionally with a closing message.",
    settings=EndSettings,
    run=run,
    outputs=(),
    terminal=True,
    summary=lambda s: s.message[:80],
)

"""input.file: ask for a file, photo, voice note or video; saves its link, name and type."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import AskSettings, Verdict, ask, ok, ports_with_timeout, refuse

Kind = Literal["image", "audio", "video", "file"]
ALL_KINDS: tuple[Kind, ...] = ("image", "audio", "video", "file")


class FileSettings(AskSettings):
    """A question answered by sending a file."""

    accept: list[Kind] = Field(
        default_factory=lambda: list(ALL_KINDS),
        min_length=1,
        title="Accepted kinds",
        description="Which kinds of attachment are accepted.",
    )


async def run(ctx: NodeContext, settings: FileSettings) -> Step:
    def from_inbound(c: NodeContext) -> Verdict:
        media = c.inbound.media if c.inbound else None
        if media is None or media.kind not in settings.accept:
            return refuse()
        return ok(media.to_json())

    kinds = ", ".join(
        {"image": "a photo", "audio": "a voice note", "video": "a video", "file": "a file"}[k] for k in settings.accept
    )
    return await ask(
        ctx,
        settings,
        lambda _: refuse(),
        check_inbound=from_inbound,
        default_retry=f"Please send {kinds} as an attachment.",
    )


NODE = NodeType(
    type="input.file",
    version=1,
    title="Ask for a file",
    category="Inputs",
    description="Asks for an attachment (photo, voice note, video or file) and saves its link.",
    settings=FileSettings,
    run=run,
    outputs=ports_with_timeout("valid", "invalid"),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

"""input.file: ask for a file, photo, voice note or video; saves its link, name and type."""

from __future__ import annotations

from pydantic import Field

from nodes.api import MediaKind, NodeContext, NodeType, Step
from nodes.inputs.asking import INVALID, REFUSED, VALID, AskSettings, Verdict, ask, ok, ports_with_timeout

ALL_KINDS: tuple[MediaKind, ...] = ("image", "audio", "video", "file")
_NAMES = {"image": "a photo", "audio": "a voice note", "video": "a video", "file": "a file"}


class FileSettings(AskSettings):
    """A question answered by sending a file."""

    accept: list[MediaKind] = Field(
        default_factory=lambda: list(ALL_KINDS),
        min_length=1,
        title="Accepted kinds",
        description="Which attachments are accepted: photos, voice notes and audio, videos, other files.",
    )


def check_media(ctx: NodeContext, accept: list[MediaKind]) -> Verdict:
    """The attachment as saved ({kind, url, name, mime}); a typed answer is no attachment."""
    media = ctx.inbound.media if ctx.inbound else None
    if media is None or media.kind not in accept:
        return REFUSED
    return ok(media.to_json())


async def run(ctx: NodeContext, settings: FileSettings) -> Step:
    kinds = " or ".join(_NAMES[k] for k in dict.fromkeys(settings.accept))
    return await ask(
        ctx,
        settings,
        lambda _: REFUSED,
        check_inbound=lambda c: check_media(c, settings.accept),
        default_retry=f"Please send {kinds} as an attachment.",
    )


NODE = NodeType(
    type="input.file",
    version=1,
    title="Ask for a file",
    category="Inputs",
    icon="attach_file",
    description="Asks for an attachment (photo, voice note, video or file) and saves its link.",
    settings=FileSettings,
    run=run,
    outputs=ports_with_timeout(VALID, INVALID),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

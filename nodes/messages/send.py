"""message.send: send text (with `{{ variable }}` placeholders), buttons, and an image, audio clip or file."""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.expressions import ExpressionError, has_template
from flows.links import link_problem
from nodes.api import Button, Media, MediaKind, NodeContext, NodeType, Outbound, Step


class ButtonSetting(BaseModel):
    """A button shown under the message."""

    title: str = Field(min_length=1, max_length=80, title="Button text")
    value: str = Field("", max_length=200, title="Value sent when pressed", description="Leave empty to use the text.")


class SendSettings(BaseModel):
    """Settings of a message the bot sends."""

    text: str = Field(
        "",
        max_length=4096,
        title="Message",
        description="What the bot says. {{ name }} inserts a variable.",
        json_schema_extra={"shown_in_chat": True},  # the builder previews it as a chat bubble
    )
    buttons: list[ButtonSetting] = Field(default_factory=list, max_length=20, title="Buttons")
    media_kind: MediaKind | None = Field(None, title="Attachment type")
    media_url: str = Field(
        "",
        max_length=2048,
        title="Attachment URL",
        description="Link to the image, audio or file: starts with https:// (or http://).",
    )
    media_name: str = Field("", max_length=200, title="Attachment file name")

    def problems(self) -> list[str]:
        out = []
        if not (self.text.strip() or self.media_url.strip()):
            out.append("“Message” is empty: write something for the bot to say, or attach a file.")
        if self.media_kind and not self.media_url.strip():
            out.append("“Attachment URL” must be filled in when an attachment type is chosen.")
        url = self.media_url.strip()
        if url and not has_template(url) and (problem := link_problem(url)) is not None:
            out.append(f"“Attachment URL”: {problem}")
        return out


async def run(ctx: NodeContext, settings: SendSettings) -> Step:
    media = None
    if settings.media_kind and settings.media_url:
        url = ctx.render(settings.media_url).strip()
        if (problem := link_problem(url)) is not None:  # checked again once variables are filled in
            raise ExpressionError(f"The attachment's address, once filled in, cannot be used. {problem}")
        media = Media(settings.media_kind, url, ctx.render(settings.media_name))
    buttons = tuple(Button(ctx.render(b.title), ctx.render(b.value)) for b in settings.buttons)
    return Step.next("out", Outbound(text=ctx.render(settings.text), buttons=buttons, media=media))


NODE = NodeType(
    type="message.send",
    version=1,
    title="Send message",
    category="Messages",
    icon="chat_bubble",
    description="Sends a message, with optional buttons and an attachment, then continues.",
    settings=SendSettings,
    run=run,
    summary=lambda s: s.text[:80],
)

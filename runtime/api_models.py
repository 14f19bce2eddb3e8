"""The JSON the runtime's HTTP API reads and writes, as pydantic models (they are its OpenAPI schema).

Bot messages come out exactly as `Outbound.to_json()` writes them: a key whose value is empty
(no buttons, no media, not multiple) is left out rather than sent as null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nodes.api import MediaKind

MAX_TEXT = 4096


def _none(value: Any) -> bool:
    return value is None


def _empty(value: Any) -> bool:
    return not value


class Strict(BaseModel):
    """A request body: unknown fields are refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class MediaIn(Strict):
    """An attachment the person sent, by URL."""

    kind: MediaKind
    url: str = Field(min_length=1, max_length=2048)
    name: str = Field(default="", max_length=200)
    mime: str = Field(default="", max_length=100)


class StartIn(Strict):
    """Start a conversation (every field may be left out)."""

    user_id: str = Field(default="", max_length=200, description="Your id for the person; kept with the conversation.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Starting values of flow variables.")
    version: int | None = Field(default=None, ge=1, description="A published version; the latest when left out.")


class MessageIn(Strict):
    """What the person said: text, a pressed button's value, or an attachment."""

    text: str = Field(default="", max_length=MAX_TEXT, description="What the person typed (at most 4,096 characters).")
    choice: str | None = Field(default=None, max_length=200, description="The `value` of the button that was pressed.")
    event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Your id for this message, unique within the conversation. The same id sent again "
        "(a retry) is answered with the same replies and not run twice.",
    )
    media: MediaIn | None = None


class ButtonOut(BaseModel):
    title: str
    value: str = Field(description="Send it back as `choice` when the button is pressed.")


class MediaOut(BaseModel):
    kind: str = Field(description="image, audio, video or file")
    url: str
    name: str = Field(default="", exclude_if=_empty)
    mime: str = Field(default="", exclude_if=_empty)
    duration: float | None = Field(default=None, exclude_if=_none, description="Seconds, for audio and video.")


class MessageOut(BaseModel):
    """A message; `buttons`, `media` and `multiple` are left out when it has none."""

    text: str = ""
    buttons: list[ButtonOut] = Field(default_factory=list, exclude_if=_empty)
    media: MediaOut | None = Field(default=None, exclude_if=_none)
    multiple: bool = Field(
        default=False, exclude_if=_empty, description="Several buttons may be pressed, then the last one (“Done”)."
    )
    feedback: str = Field(
        default="",
        exclude_if=_empty,
        description="An AI answer: send 👍/👎 with POST /api/feedback/{this id}.",
    )


class Replies(BaseModel):
    messages: list[MessageOut] = Field(description="The bot's answers, in order.")


class Started(BaseModel):
    conversation_id: str
    flow_id: str
    version: int = Field(description="The published version the conversation runs on, to its end.")
    messages: list[MessageOut] = Field(description="The bot's first messages, in order.")


class ConversationOut(BaseModel):
    conversation_id: str
    flow_id: str
    version: int
    status: str = Field(description="waiting (for the person), sleeping (until a timer), ended or failed")
    waiting_at: str | None = Field(description="The node the conversation stands at, if any.")
    variables: dict[str, Any]


class TranscriptLine(BaseModel):
    """A line of the transcript: a bot message (`out`) or what the person sent (`in`)."""

    id: int = Field(description="Increasing; poll with `after` = the last id you saw.")
    direction: Literal["in", "out"]
    node_id: str | None = Field(description="The node that spoke, or the one the person answered.")
    at: str = Field(description="ISO 8601 time, UTC.")
    text: str = ""
    choice: str | None = Field(
        default=None, exclude_if=_none, description="For `in` lines: the pressed button's value."
    )
    buttons: list[ButtonOut] = Field(default_factory=list, exclude_if=_empty)
    media: MediaOut | None = Field(default=None, exclude_if=_none)
    multiple: bool = Field(default=False, exclude_if=_empty)
    feedback: str = Field(default="", exclude_if=_empty)


class Transcript(BaseModel):
    messages: list[TranscriptLine]


class FlowOut(BaseModel):
    id: str
    name: str
    latest_version: int


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ChannelWork(BaseModel):
    """This process's channel work, as counted since it started."""

    working: bool = Field(description="It handles channel events and delivers messages.")
    claims: bool = Field(description="It holds its claims: its PostgreSQL connection for them, or SQLite's lease.")
    chats: int = Field(description="Chats it is answering now.")
    conversations: int = Field(description="Conversations it is delivering messages to now.")
    handled: int = Field(description="Events it has handled.")
    sent: int = Field(description="Messages it has sent.")
    resent: int = Field(description="Messages sent again because a worker stopped while sending them.")
    backlog: int = Field(description="Events waiting to be handled, counted every few seconds.")
    backlog_limit: int = Field(description="From this many, webhooks are answered 503 (the platforms send again).")


class Ready(BaseModel):
    """Whether this process can do its job now; when not, `detail` says why."""

    status: Literal["ready", "not ready"]
    detail: str = Field(default="", exclude_if=_empty, description="What is wrong, in plain words.")
    channels: ChannelWork | None = Field(default=None, exclude_if=_none)


class Problem(BaseModel):
    """Every error answer: one sentence."""

    detail: str

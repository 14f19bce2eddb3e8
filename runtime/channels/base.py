"""The one interface every channel adapter implements, and the normalized messages it converts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from nodes.api import Button, Inbound, Media, MediaError, Outbound

Kind = Literal["text", "choice", "audio", "image", "file", "other"]

IN_FLIGHT = 8  # messages the outbox has at one account's platform at once (the others wait their turn)


class Rejected(Exception):
    """A webhook request refused before anything is stored: `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class SendFailed(Exception):
    """A platform did not accept a message. `retry_after` (seconds) when it asked us to wait;
    `permanent` when sending again cannot help (the user blocked the bot, a bad request)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.retry_after, self.permanent = reason, retry_after, permanent


@dataclass(frozen=True, slots=True)
class ChannelEvent:
    """One thing a user did on a platform, in the same shape for every channel."""

    channel: str
    account: str
    chat: str  # where replies go: a chat, a channel, a phone-number-scoped user id
    user: str
    event_id: str  # the platform's id for this delivery; a redelivery carries the same one
    kind: Kind
    text: str = ""
    choice: str | None = None  # a pressed button's value
    media: Media | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    ack: str | None = None  # something to acknowledge on the platform (a Telegram callback query id)

    def inbound(self) -> Inbound:
        return Inbound(text=self.text, choice=self.choice, media=self.media, event_id=self.event_id)

    def to_json(self) -> dict[str, Any]:
        """As kept in the inbox."""
        data = {k: getattr(self, k) for k in self.__slots__ if k != "media"}
        data["media"] = self.media.to_json() if self.media else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChannelEvent:
        media = data.get("media")
        return cls(
            channel=data["channel"],
            account=data["account"],
            chat=data["chat"],
            user=data["user"],
            event_id=data["event_id"],
            kind=data["kind"],
            text=data.get("text", ""),
            choice=data.get("choice"),
            media=Media(**media) if media else None,
            raw=data.get("raw") or {},
            ack=data.get("ack"),
        )


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can show; the rest is degraded (see degrade.py)."""

    max_buttons: int  # reply buttons under one message (0: none)
    button_title: int  # the longest button title, in characters
    max_text: int  # the longest message text
    audio: bool = True  # can play an audio message (otherwise it is sent as a link)
    images: bool = True


class Adapter(Protocol):
    """A platform: verify and read its webhooks, send it messages. Every method here is used by the
    channels service; `BaseAdapter` gives the ones a platform may not need."""

    channel: str
    capabilities: Capabilities
    files: Any  # the bot's own media files (runtime.media.LocalMedia), set by the service, for uploads

    def verify(self, headers: dict[str, str], body: bytes) -> None:
        """Raise Rejected unless the request really comes from the platform (constant-time compare)."""

    def decode(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        """The request body as a JSON object (Rejected 400 if it is not one); see `json_object`."""

    def handshake(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The answer to a platform's set-up request (Slack's url_verification), else None."""

    def challenge(self, query: dict[str, str]) -> str:
        """The answer to a subscription handshake by GET (Meta's hub.challenge); Rejected if none."""

    def parse(self, body: dict[str, Any]) -> list[ChannelEvent]:
        """The events in one webhook body (none for updates the bot does not care about)."""

    async def send(self, chat: str, message: Outbound) -> None:
        """Deliver one message (already degraded to what the channel can show); SendFailed if not."""

    async def acknowledge(self, event: ChannelEvent) -> None:
        """Tell the platform an event was handled, where it wants that (a button's spinner)."""

    async def fetch(self, media: Media) -> bytes:
        """The bytes of a file a user sent (a voice note); MediaError if it cannot be had."""

    async def close(self) -> None:
        """Release connections."""


class BaseAdapter:
    """What an adapter need not write itself: no GET handshake, no set-up request, nothing to
    acknowledge, no files to fetch, nothing to close."""

    files: Any = None

    def handshake(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def challenge(self, query: dict[str, str]) -> str:
        raise Rejected(405, f"{getattr(self, 'channel', 'This channel')} does not subscribe this way.")

    async def acknowledge(self, event: ChannelEvent) -> None:
        return None

    async def fetch(self, media: Media) -> bytes:
        raise MediaError("That file can no longer be fetched from the chat app.")

    async def close(self) -> None:
        return None


def json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object, or Rejected(400) in words."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "The request body is not JSON.") from None
    if not isinstance(data, dict):
        raise Rejected(400, "The request body is not a JSON object.")
    return data


__all__ = ["Adapter", "BaseAdapter", "Button", "Capabilities", "ChannelEvent", "Rejected", "SendFailed"]

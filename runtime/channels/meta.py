"""Facebook Messenger and Instagram: Meta's webhooks in, the Graph API's Send API out, through a
thin httpx client (Meta's Python SDKs are abandoned). The Graph API address is configurable.

Subscribing: Meta calls `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` and wants the
challenge back when the token is ours. Every POST carries `X-Hub-Signature-256: sha256=<HMAC-SHA256
of the raw body with the app secret>`. Messages are keyed by their `mid`; buttons are quick replies
(at most 13, titles of 20 characters) and come back as `quick_reply.payload` or a postback.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from nodes.api import Media, Outbound
from runtime.channels.base import BaseAdapter, Capabilities, ChannelEvent, Rejected, SendFailed, json_object

PUBLIC_API = "https://graph.facebook.com"
VERSION = "v21.0"
RATE_LIMITED = {4, 17, 32, 613}  # Graph error codes that mean "slow down"
TRANSIENT = {1, 2}  # "unknown error", "service unavailable": try again
OBJECTS = {"messenger": "page", "instagram": "instagram"}


class Meta(BaseAdapter):
    """One Facebook page (Messenger) or Instagram professional account."""

    capabilities = Capabilities(max_buttons=13, button_title=20, max_text=2000)

    def __init__(self, channel: str, account: str, credentials: dict[str, Any], api_base: str = "") -> None:
        self.channel, self.account = channel, account
        self.token = str(credentials.get("page_token", ""))
        self.app_secret = str(credentials.get("app_secret", ""))
        self.verify_token = str(credentials.get("verify_token", ""))
        self.base = (api_base or PUBLIC_API).rstrip("/")
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))

    # in

    def challenge(self, query: dict[str, str]) -> str:
        """The subscription handshake: the challenge if the verify token is ours, else Rejected(403)."""
        given = query.get("hub.verify_token", "")
        if (
            query.get("hub.mode") != "subscribe"
            or not self.verify_token
            or not hmac.compare_digest(given.encode(), self.verify_token.encode())
        ):
            raise Rejected(403, "The verify token does not match this channel's.")
        return query.get("hub.challenge", "")

    def verify(self, headers: dict[str, str], body: bytes) -> None:
        given = headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        if not self.app_secret or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Rejected(401, "The request is not signed with this app's secret.")

    def decode(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        return json_object(body)

    def handshake(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def parse(self, body: dict[str, Any]) -> list[ChannelEvent]:
        if body.get("object") != OBJECTS[self.channel]:
            raise Rejected(400, f"This is not a {self.channel} webhook.")
        events: list[ChannelEvent] = []
        for entry in body.get("entry") or []:
            for item in (entry or {}).get("messaging") or []:
                event = self._event(item, body)
                if event is not None:
                    events.append(event)
        return events

    def _event(self, item: dict[str, Any], body: dict[str, Any]) -> ChannelEvent | None:
        sender = str((item.get("sender") or {}).get("id", ""))
        common: dict[str, Any] = {
            "channel": self.channel,
            "account": self.account,
            "chat": sender,
            "user": sender,
            "raw": body,
        }
        postback = item.get("postback")
        if isinstance(postback, dict):
            payload = str(postback.get("payload", ""))
            mid = str(postback.get("mid") or f"postback:{item.get('timestamp')}:{sender}")
            return ChannelEvent(event_id=mid, kind="choice", text=payload, choice=payload, **common)
        message = item.get("message")
        if not isinstance(message, dict) or message.get("is_echo"):
            return None  # deliveries, reads, the page's own messages
        mid = str(message.get("mid", ""))
        if not mid:
            raise Rejected(400, "A message needs its mid.")
        quick = message.get("quick_reply")
        if isinstance(quick, dict):
            payload = str(quick.get("payload", ""))
            return ChannelEvent(
                event_id=mid, kind="choice", text=str(message.get("text", payload)), choice=payload, **common
            )
        for attachment in message.get("attachments") or []:
            kind = (attachment or {}).get("type")
            url = str(((attachment or {}).get("payload") or {}).get("url", ""))
            if kind in ("audio", "image", "file", "video"):
                media_kind = {"audio": "audio", "image": "image", "video": "video"}.get(kind, "file")
                media = Media(kind=media_kind, url=url)  # type: ignore[arg-type]
                event_kind = {"audio": "audio", "image": "image"}.get(kind, "file")
                return ChannelEvent(event_id=mid, kind=event_kind, media=media, **common)  # type: ignore[arg-type]
        if "text" in message:
            return ChannelEvent(event_id=mid, kind="text", text=str(message["text"]), **common)
        return ChannelEvent(event_id=mid, kind="other", **common)

    # out

    async def send(self, chat: str, message: Outbound) -> None:
        payload: dict[str, Any] = {}
        if message.media is not None and message.media.kind in ("audio", "image", "video", "file"):
            payload["attachment"] = {
                "type": message.media.kind,
                "payload": {"url": message.media.url, "is_reusable": True},
            }
            if message.text:
                await self._post(chat, {"text": message.text})
        else:
            payload["text"] = message.text or " "
        if message.buttons:
            payload["quick_replies"] = [
                {"content_type": "text", "title": b.title, "payload": b.value or b.title} for b in message.buttons
            ]
        await self._post(chat, payload)

    async def _post(self, chat: str, message: dict[str, Any]) -> None:
        url = f"{self.base}/{VERSION}/me/messages"
        body = {"recipient": {"id": chat}, "messaging_type": "RESPONSE", "message": message}
        try:
            answer = await self.http.post(url, params={"access_token": self.token}, json=body)
        except httpx.HTTPError as exc:  # the URL holds the token: never repeat the error's own words
            raise SendFailed(f"{self.channel} could not be reached: {type(exc).__name__}") from None
        if answer.status_code == 200:
            return
        try:
            error = answer.json().get("error") or {}
        except ValueError:
            error = {}
        code = error.get("code")
        reason = f"{self.channel} answered {answer.status_code}: {str(error.get('message', 'error'))[:200]}"
        if answer.status_code == 429 or code in RATE_LIMITED:
            after = answer.headers.get("retry-after")
            raise SendFailed(reason, retry_after=float(after) if after and after.isdigit() else 60.0)
        if answer.status_code >= 500 or code in TRANSIENT:
            raise SendFailed(reason)
        raise SendFailed(reason, permanent=True)

    async def acknowledge(self, event: ChannelEvent) -> None:
        return None

    async def close(self) -> None:
        await self.http.aclose()

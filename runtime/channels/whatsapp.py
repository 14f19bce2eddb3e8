"""WhatsApp Cloud API: Meta's webhooks in (the same signature and subscription as Messenger),
pywa out, its Graph address redirected to the configured API base (the tests' fake).

A user is keyed on the business-scoped user id (`contacts[].user_id`) when the webhook gives one,
which may come without a phone number, else on the WhatsApp id. Messages are keyed by their
`wamid`. Up to three reply buttons of at most 20 characters; more become a numbered list.
"""

from __future__ import annotations

from typing import Any

import httpx

from nodes.api import Media, Outbound
from runtime.channels.base import Capabilities, ChannelEvent, Rejected, SendFailed
from runtime.channels.meta import Meta

PUBLIC_API = "https://graph.facebook.com"
API_VERSION = 23.0
RATE_LIMITED = {4, 80007, 130429, 131048, 131056}  # throughput, spam-rate and pair-rate limits
TRANSIENT = {1, 2, 131000, 131016}


class _Redirect(httpx.AsyncBaseTransport):
    """Send pywa's requests for graph.facebook.com to another address (a self-hosted proxy, a fake)."""

    def __init__(self, base: str) -> None:
        self.base = httpx.URL(base)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class WhatsApp(Meta):
    """One WhatsApp business phone number."""

    capabilities = Capabilities(max_buttons=3, button_title=20, max_text=4096)

    def __init__(self, account: str, credentials: dict[str, Any], api_base: str = "") -> None:
        super().__init__("whatsapp", account, credentials, api_base)
        from pywa_async import WhatsApp as Client  # pywa only where WhatsApp is used

        self.phone_id = str(credentials.get("phone_id", ""))
        self.token = str(credentials.get("token", ""))
        transport = _Redirect(api_base) if api_base and api_base.rstrip("/") != PUBLIC_API else None
        self.session = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(10.0, connect=5.0))
        self.client = Client(phone_id=self.phone_id, token=self.token, session=self.session, api_version=API_VERSION)

    def parse(self, body: dict[str, Any]) -> list[ChannelEvent]:
        if body.get("object") != "whatsapp_business_account":
            raise Rejected(400, "This is not a WhatsApp webhook.")
        events: list[ChannelEvent] = []
        for entry in body.get("entry") or []:
            for change in (entry or {}).get("changes") or []:
                value = (change or {}).get("value") or {}
                contacts = {str(c.get("wa_id", "")): c for c in value.get("contacts") or [] if isinstance(c, dict)}
                for message in value.get("messages") or []:
                    events.append(self._message(message, contacts, body))
        return events  # statuses (sent, delivered, read) carry no messages

    def _message(self, message: dict[str, Any], contacts: dict[str, Any], body: dict[str, Any]) -> ChannelEvent:
        wamid = str(message.get("id", ""))
        if not wamid:
            raise Rejected(400, "A WhatsApp message needs its id.")
        sender = str(message.get("from", ""))
        contact: dict[str, Any] = contacts.get(sender) or next(iter(contacts.values()), {})
        user = str(contact.get("user_id") or message.get("from_user_id") or sender)
        common: dict[str, Any] = {"channel": self.channel, "account": self.account, "chat": user, "user": user}
        common.update(event_id=wamid, raw=body)
        kind = message.get("type")
        if kind == "text":
            return ChannelEvent(kind="text", text=str((message.get("text") or {}).get("body", "")), **common)
        if kind == "interactive":
            reply = (
                (message.get("interactive") or {}).get("button_reply")
                or (message.get("interactive") or {}).get("list_reply")
                or {}
            )
            value = str(reply.get("id", ""))
            return ChannelEvent(kind="choice", text=str(reply.get("title", value)), choice=value, **common)
        if kind == "button":  # a template's quick reply
            payload = str((message.get("button") or {}).get("payload", ""))
            return ChannelEvent(kind="choice", text=payload, choice=payload, **common)
        if kind in ("audio", "image", "document"):
            item = message.get(kind) or {}
            media = Media(
                kind="audio" if kind == "audio" else "image" if kind == "image" else "file",
                url=f"whatsapp-media:{item.get('id', '')}",
                mime=str(item.get("mime_type", "")),
                name=str(item.get("filename", "")),
            )
            event_kind = "audio" if kind == "audio" else "image" if kind == "image" else "file"
            return ChannelEvent(kind=event_kind, media=media, text=str(item.get("caption", "")), **common)  # type: ignore[arg-type]
        return ChannelEvent(kind="other", **common)

    async def send(self, chat: str, message: Outbound) -> None:
        from pywa.errors import WhatsAppError

        try:
            media = message.media
            if media is not None and media.kind == "audio":
                await self.client.send_audio(to=chat, audio=media.url)
                if message.text or message.buttons:
                    await self._text(chat, message)
            elif media is not None and media.kind == "image":
                await self.client.send_image(to=chat, image=media.url, caption=message.text or None)
            elif media is not None:
                await self.client.send_document(to=chat, document=media.url, caption=message.text or None)
            else:
                await self._text(chat, message)
        except WhatsAppError as exc:
            reason = f"WhatsApp error {exc.code}: {exc.message[:200]}"
            status = exc.status_code or 0
            if exc.code in RATE_LIMITED or status == 429:
                raise SendFailed(reason, retry_after=60.0) from None
            if exc.code in TRANSIENT or status >= 500 or exc.is_transient:
                raise SendFailed(reason) from None
            raise SendFailed(reason, permanent=True) from None
        except httpx.HTTPError as exc:
            raise SendFailed(f"WhatsApp could not be reached: {type(exc).__name__}") from None

    async def _text(self, chat: str, message: Outbound) -> None:
        from pywa.types import Button

        buttons = [Button(title=b.title, callback_data=b.value or b.title) for b in message.buttons] or None
        await self.client.send_message(to=chat, text=message.text or " ", buttons=buttons)

    async def close(self) -> None:
        await self.session.aclose()
        await super().close()

"""WhatsApp Cloud API: Meta's webhooks in (the same signature and subscription as Messenger),
pywa out, its Graph address redirected to the configured API base (the tests' fake).

A user is keyed on the business-scoped user id (`contacts[].user_id`) when the webhook gives one,
which may come without a phone number, else on the WhatsApp id. Messages are keyed by their
`wamid`. Up to three reply buttons of at most 20 characters; more become a numbered list.

Media a user sends arrives as a media id, read in the Cloud API's two steps (its address, then its
bytes with the token); the bot's own OGG/Opus replies are uploaded and sent as voice notes by id.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import httpx

from nodes.api import Media, MediaError, Outbound
from runtime.channels.base import Capabilities, ChannelEvent, Rejected, SendFailed
from runtime.channels.meta import Meta
from runtime.media import LocalMedia, too_big

log = logging.getLogger(__name__)

PUBLIC_API = "https://graph.facebook.com"
API_VERSION = 23.0
RATE_LIMITED = {4, 80007, 130429, 131048, 131056}  # throughput, spam-rate and pair-rate limits
TRANSIENT = {1, 2, 131000, 131016}
FILE_SCHEME = "whatsapp-media"  # whatsapp-media:<account>/<media id>: media ids belong to one number
MAX_MEDIA = 25_000_000  # bytes read from a user's file (WhatsApp's own limits are 5 to 100 MB)
GONE = "That file is no longer on WhatsApp; please send it again."
VOICE_MIMES = ("audio/ogg", "audio/opus")


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
    files: LocalMedia | None = None  # the bot's own files (spoken replies), uploaded as voice notes

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
                url=f"{FILE_SCHEME}:{self.account}/{item.get('id', '')}",
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
                await self._send_audio(chat, media)
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
        except ValueError as exc:  # pywa refuses a media address it cannot use (a relative one)
            raise SendFailed(f"WhatsApp cannot send that file: {str(exc)[:200]}", permanent=True) from None

    async def _send_audio(self, chat: str, media: Media) -> None:
        """The bot's own OGG/Opus file is uploaded and sent by its media id, as a voice note
        (WhatsApp cannot reach a server without a public address); other audio by its address."""
        own = self.files.path_of(media.url) if self.files is not None else None
        voice = media.mime.partition(";")[0].strip() in VOICE_MIMES
        if own is None or not voice or self.files is None:
            await self.client.send_audio(to=chat, audio=media.url)
            return
        try:
            data = await self.files.read(media)
        except MediaError as exc:
            raise SendFailed(str(exc), permanent=True) from None
        uploaded = await self.client.upload_media(data, mime_type="audio/ogg", filename=own.name, media_type="audio")
        await self.client.send_voice(to=chat, voice=uploaded.id)

    async def fetch(self, media: Media, *, limit: int = MAX_MEDIA) -> bytes:
        """The bytes of a file a user sent (a voice note): its address from the Graph API, then
        the file from that address with the token."""
        from pywa.errors import WhatsAppError

        media_id = media.url.removeprefix(f"{FILE_SCHEME}:").rsplit("/", 1)[-1]
        try:
            found = await self.client.get_media_url(media_id)
            if found.file_size and found.file_size > limit:
                raise too_big(limit)
            chunks, size = [], 0
            async with contextlib.aclosing(self.client.stream_media(found.url)) as stream:  # closed when too big
                async for chunk in stream:
                    size += len(chunk)
                    if size > limit:
                        raise too_big(limit)
                    chunks.append(chunk)
            return b"".join(chunks)
        except WhatsAppError as exc:
            if exc.status_code == 404 or exc.code == 100:  # unknown or expired (30 days) media id
                raise MediaError(GONE) from None
            log.info("whatsapp %s: media %s not fetched: error %s", self.account, media_id, exc.code)
            raise MediaError("That file could not be fetched from WhatsApp.") from None
        except httpx.HTTPStatusError as exc:  # the file's address (valid for five minutes)
            if exc.response.status_code in (404, 410):
                raise MediaError(GONE) from None
            log.info("whatsapp %s: media %s not fetched: HTTP %s", self.account, media_id, exc.response.status_code)
            raise MediaError("That file could not be fetched from WhatsApp.") from None
        except httpx.HTTPError as exc:
            log.info("whatsapp %s: media %s not fetched: %s", self.account, media_id, type(exc).__name__)
            raise MediaError("WhatsApp could not be reached to fetch that file.") from None

    async def _text(self, chat: str, message: Outbound) -> None:
        from pywa.types import Button

        buttons = [Button(title=b.title, callback_data=b.value or b.title) for b in message.buttons] or None
        await self.client.send_message(to=chat, text=message.text or " ", buttons=buttons)

    async def close(self) -> None:
        await self.session.aclose()
        await super().close()

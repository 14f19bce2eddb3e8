"""Telegram: Bot API webhooks in, python-telegram-bot out (its API address configurable, for a
self-hosted Bot API server or the tests' fake).

Webhook requests carry the secret token given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`.
Updates are keyed by `update_id`. Buttons are inline keyboards; a press arrives as a callback query,
answered so the button stops spinning. Voice notes arrive as file ids, fetched with getFile.
"""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from nodes.api import Media, MediaError, Outbound
from runtime.channels.base import IN_FLIGHT, BaseAdapter, Capabilities, ChannelEvent, Rejected, SendFailed, json_object
from runtime.media import LocalMedia

log = logging.getLogger(__name__)
PUBLIC_API = "https://api.telegram.org"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
CALLBACK_BYTES = 64  # Telegram's limit on callback_data
CAPTION = 1024  # Telegram's limit on a caption; a longer text follows as its own message
FILE_SCHEME = "telegram-file"  # telegram-file:<account>/<file id>: file ids belong to one bot
MAX_FETCH = 25_000_000  # bytes of one file a user sent (what the media reader accepts)


class Telegram(BaseAdapter):
    """One Telegram bot (one account)."""

    channel = "telegram"
    capabilities = Capabilities(max_buttons=8, button_title=64, max_text=4096)
    files: LocalMedia | None = None  # the bot's own files (spoken replies), uploaded as voice notes

    def __init__(self, account: str, credentials: dict[str, Any], api_base: str = "") -> None:
        self.account = account
        self.token = str(credentials.get("token", ""))
        self.secret_token = str(credentials.get("secret_token", ""))
        base = (api_base or PUBLIC_API).rstrip("/")
        # as many connections as the outbox sends at once to one account (base.IN_FLIGHT); a
        # request waits for one as long as it would wait for Telegram
        request = HTTPXRequest(connection_pool_size=IN_FLIGHT, pool_timeout=30.0)
        self.bot = Bot(self.token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot", request=request)
        self._ready = False

    # in

    def verify(self, headers: dict[str, str], body: bytes) -> None:
        given = headers.get(SECRET_HEADER, "")
        if not self.secret_token or not hmac.compare_digest(given.encode(), self.secret_token.encode()):
            raise Rejected(401, "The request is not signed with this bot's secret token.")

    def decode(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        return json_object(body)

    def handshake(self, body: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def parse(self, body: dict[str, Any]) -> list[ChannelEvent]:
        update_id = body.get("update_id")
        if not isinstance(update_id, int):
            raise Rejected(400, "A Telegram update needs a numeric update_id.")
        event_id = str(update_id)
        query = body.get("callback_query")
        if isinstance(query, dict):
            chat = ((query.get("message") or {}).get("chat") or {}).get("id", (query.get("from") or {}).get("id"))
            return [
                ChannelEvent(
                    channel=self.channel,
                    account=self.account,
                    chat=str(chat),
                    user=str((query.get("from") or {}).get("id", "")),
                    event_id=event_id,
                    kind="choice",
                    text=str(query.get("data", "")),
                    choice=str(query.get("data", "")),
                    raw=body,
                    ack=str(query.get("id", "")),
                )
            ]
        message = body.get("message") or body.get("edited_message")
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            return []  # other updates (joins, polls, …) are not for the flow
        common: dict[str, Any] = {
            "channel": self.channel,
            "account": self.account,
            "chat": str(message["chat"].get("id")),
            "user": str((message.get("from") or {}).get("id", "")),
            "event_id": event_id,
            "raw": body,
        }
        if "text" in message:
            return [ChannelEvent(kind="text", text=str(message["text"]), **common)]
        for key in ("voice", "audio"):
            if isinstance(message.get(key), dict):
                item = message[key]
                media = Media(
                    kind="audio",
                    url=self._file_url(item),
                    mime=str(item.get("mime_type", "audio/ogg")),
                    duration=float(item["duration"]) if "duration" in item else None,
                )
                return [ChannelEvent(kind="audio", media=media, text=str(message.get("caption", "")), **common)]
        if isinstance(message.get("photo"), list) and message["photo"]:
            biggest = message["photo"][-1]
            media = Media(kind="image", url=self._file_url(biggest), mime="image/jpeg")
            return [ChannelEvent(kind="image", media=media, text=str(message.get("caption", "")), **common)]
        if isinstance(message.get("document"), dict):
            doc = message["document"]
            media = Media(
                kind="file",
                url=self._file_url(doc),
                name=str(doc.get("file_name", "")),
                mime=str(doc.get("mime_type", "")),
            )
            return [ChannelEvent(kind="file", media=media, text=str(message.get("caption", "")), **common)]
        return [ChannelEvent(kind="other", **common)]

    def _file_url(self, item: dict[str, Any]) -> str:
        return f"{FILE_SCHEME}:{self.account}/{item.get('file_id', '')}"

    # out

    async def _started(self) -> Bot:
        if not self._ready:
            await self.bot.initialize()
            self._ready = True
        return self.bot

    async def send(self, chat: str, message: Outbound) -> None:
        bot = await self._started()
        markup = None
        if message.buttons:
            rows = []
            for i, b in enumerate(message.buttons, 1):
                value = b.value or b.title
                data = value if len(value.encode()) <= CALLBACK_BYTES else str(i)  # a choice also accepts its number
                rows.append([InlineKeyboardButton(b.title, callback_data=data)])
            markup = InlineKeyboardMarkup(rows)
        try:
            media = message.media
            if media is not None and media.kind == "audio":
                await self._send_audio(bot, chat, media, message.text, markup)
            elif media is not None and media.kind == "image":
                await bot.send_photo(chat, media.url, caption=message.text or None, reply_markup=markup)
            elif media is not None:
                await bot.send_document(chat, media.url, caption=message.text or None, reply_markup=markup)
            else:
                await bot.send_message(chat, message.text or " ", reply_markup=markup)
        except RetryAfter as exc:
            wait = getattr(exc, "_retry_after", None) or exc.retry_after  # a timedelta, without PTB's warning
            raise SendFailed(
                self.redact(exc), retry_after=wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            ) from None
        except (Forbidden, BadRequest, InvalidToken, ChatMigrated) as exc:
            raise SendFailed(self.redact(exc), permanent=True) from None
        except TelegramError as exc:  # network errors, 5xx
            raise SendFailed(self.redact(exc)) from None

    async def _send_audio(self, bot: Bot, chat: str, media: Media, text: str, markup: Any) -> None:
        """OGG/Opus goes as a voice note (the bot's own file uploaded: Telegram cannot reach a
        server without a public address); other audio as an audio file, by its address."""
        caption = text if len(text) <= CAPTION else ""
        own = self.files.path_of(media.url) if self.files is not None else None
        voice = media.mime.partition(";")[0].strip() in ("audio/ogg", "audio/opus")
        duration = round(media.duration) if media.duration else None
        if own is not None and voice and self.files is not None:
            try:
                data = await self.files.read(media)
            except MediaError as exc:
                raise SendFailed(str(exc), permanent=True) from None
            await bot.send_voice(chat, data, caption=caption or None, duration=duration, reply_markup=markup)
        elif voice:
            await bot.send_voice(chat, media.url, caption=caption or None, duration=duration, reply_markup=markup)
        else:
            await bot.send_audio(chat, media.url, caption=caption or None, reply_markup=markup)
        if text and not caption:
            await bot.send_message(chat, text)

    async def acknowledge(self, event: ChannelEvent) -> None:
        if event.ack:
            bot = await self._started()
            try:
                await bot.answer_callback_query(event.ack)
            except TelegramError as exc:  # too late (over 15 s): the button just stops spinning
                log.info("telegram %s: callback not answered: %s", self.account, self.redact(exc))

    async def fetch(self, media: Media) -> bytes:
        """The bytes of a file a user sent (a voice note), through getFile."""
        bot = await self._started()
        file = await bot.get_file(media.url.removeprefix(f"{FILE_SCHEME}:").rsplit("/", 1)[-1])
        if file.file_size and file.file_size > MAX_FETCH:  # a self-hosted Bot API server allows 2 GB
            raise MediaError(f"That file is larger than {MAX_FETCH // 1_000_000} MB.")
        return bytes(await file.download_as_bytearray())

    async def set_webhook(self, url: str) -> None:
        """Tell Telegram where to send updates, with the secret token it must send back."""
        bot = await self._started()
        await bot.set_webhook(url, secret_token=self.secret_token, allowed_updates=["message", "callback_query"])

    async def close(self) -> None:
        if self._ready:
            await self.bot.shutdown()
            self._ready = False

    def redact(self, exc: Exception) -> str:
        """An error's words without the bot token (it is part of every API address)."""
        text = str(exc) or type(exc).__name__
        return text.replace(self.token, "***") if self.token else text

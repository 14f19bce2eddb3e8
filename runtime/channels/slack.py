"""Slack: the Events API and interactive `block_actions` in, slack-sdk's AsyncWebClient out (its
API address configurable, for the tests' fake).

Every request is signed: `X-Slack-Signature` is `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}` with
the app's signing secret, checked with slack-sdk's SignatureVerifier, which also refuses a
timestamp more than five minutes away (a replay). A new events URL is confirmed with the
`url_verification` challenge. Events are keyed by `event_id` (Slack retries with the same id and
`X-Slack-Retry-Num`); a button press by its `action_ts`. Buttons are Block Kit buttons.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from nodes.api import Outbound
from runtime.channels.base import BaseAdapter, Capabilities, ChannelEvent, Rejected, SendFailed, json_object

PUBLIC_API = "https://slack.com/api/"
PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "no_permission",
    "msg_too_long",
    "invalid_blocks",
}


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class Slack(BaseAdapter):
    """One Slack app installed in one workspace (one account)."""

    channel = "slack"
    capabilities = Capabilities(max_buttons=25, button_title=75, max_text=3000, audio=False)

    def __init__(
        self, account: str, credentials: dict[str, Any], api_base: str = "", clock: Callable[[], float] = time.time
    ) -> None:
        self.account = account
        self.token = str(credentials.get("token", ""))
        secret = str(credentials.get("signing_secret", "")) or "-"  # SignatureVerifier refuses an empty one
        self.verifier = SignatureVerifier(secret, _Clock(clock))
        self._configured = bool(credentials.get("signing_secret"))
        base = api_base.rstrip("/") + "/api/" if api_base else PUBLIC_API
        self.client = AsyncWebClient(token=self.token, base_url=base)

    # in

    def verify(self, headers: dict[str, str], body: bytes) -> None:
        try:
            good = self._configured and self.verifier.is_valid_request(body, headers)
        except ValueError:  # a timestamp that is not a number
            good = False
        if not good:
            raise Rejected(401, "The request is not signed with this app's signing secret, or is too old.")

    def decode(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            try:
                payload = parse_qs(body.decode(), strict_parsing=True).get("payload", [""])[0]
            except (ValueError, UnicodeDecodeError):
                raise Rejected(400, "The request body is not a Slack form.") from None
            return json_object(payload.encode())
        return json_object(body)

    def handshake(self, body: dict[str, Any]) -> dict[str, Any] | None:
        if body.get("type") == "url_verification":
            return {"challenge": str(body.get("challenge", ""))}
        return None

    def parse(self, body: dict[str, Any]) -> list[ChannelEvent]:
        kind = body.get("type")
        if kind == "block_actions":
            actions = body.get("actions") or []
            if not actions or not isinstance(actions[0], dict):
                return []
            action = actions[0]
            chat = str((body.get("channel") or {}).get("id", "")) or str(
                (body.get("container") or {}).get("channel_id", "")
            )
            value = str(action.get("value", ""))
            return [
                ChannelEvent(
                    channel=self.channel,
                    account=self.account,
                    chat=chat,
                    user=str((body.get("user") or {}).get("id", "")),
                    event_id=f"action:{action.get('action_ts') or body.get('trigger_id', '')}",
                    kind="choice",
                    text=value,
                    choice=value,
                    raw=body,
                )
            ]
        if kind != "event_callback":
            return []
        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            raise Rejected(400, "A Slack event needs an event_id.")
        event = body.get("event") or {}
        if event.get("type") != "message" or event.get("bot_id") or event.get("subtype") not in (None, "file_share"):
            return []  # the bot's own messages, edits, joins: not for the flow
        common: dict[str, Any] = {
            "channel": self.channel,
            "account": self.account,
            "chat": str(event.get("channel", "")),
            "user": str(event.get("user", "")),
            "event_id": event_id,
            "raw": body,
        }
        if event.get("files"):
            return [ChannelEvent(kind="file", text=str(event.get("text", "")), **common)]
        return [ChannelEvent(kind="text", text=str(event.get("text", "")), **common)]

    # out

    async def send(self, chat: str, message: Outbound) -> None:
        text = message.text or " "
        blocks: list[dict[str, Any]] | None = None
        if message.buttons:
            blocks = [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": b.title},
                            "value": b.value or b.title,
                            "action_id": f"choice-{i}",
                        }
                        for i, b in enumerate(message.buttons)
                    ],
                },
            ]
        if message.media is not None:
            text = f"{text}\n{message.media.url}".strip()
        try:
            await self.client.chat_postMessage(channel=chat, text=text, blocks=blocks)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
            reason = f"Slack answered {status}: {error or 'error'}"
            if status == 429:
                after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after") or "1"
                raise SendFailed(reason, retry_after=float(after)) from None
            if status >= 500:
                raise SendFailed(reason) from None
            raise SendFailed(reason, permanent=error in PERMANENT or status != 200) from None
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise SendFailed(f"Slack could not be reached: {type(exc).__name__}") from None

    async def acknowledge(self, event: ChannelEvent) -> None:
        return None  # Slack's own 200 answer to the request is the acknowledgement

    async def close(self) -> None:
        session = getattr(self.client, "session", None)
        if session is not None:
            await session.close()

    def redact(self, exc: Exception) -> str:
        text = str(exc) or type(exc).__name__
        return text.replace(self.token, "***") if self.token else text

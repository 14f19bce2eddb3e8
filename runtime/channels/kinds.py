"""What each channel needs to be deployed: the credentials a person copies from the platform, and
the ones Chatloom makes up (Telegram's webhook secret, Meta's verify token). Shared by
`chatloom deploy` (which reads them from environment variables) and the builder's form."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
ACCOUNT_RULE = "letters, digits, - and _ (at most 100; it becomes part of the webhook address)"


@dataclass(frozen=True)
class Credential:
    key: str  # in the deployment's sealed credentials
    label: str  # in the builder
    env: str  # the environment variable `chatloom deploy` reads
    where: str  # where the person finds it


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    credentials: tuple[Credential, ...]
    generated: str = ""  # a token Chatloom makes up and the platform is told (or shown)

    @property
    def shows_verify_token(self) -> bool:
        """Meta's webhook settings ask for the verify token: the page shows it."""
        return self.generated == "verify_token"


_META_SECRET = Credential("app_secret", "App secret", "META_APP_SECRET", "your Meta app's Settings → Basic page")


def _meta(name: str, title: str, *credentials: Credential) -> Kind:
    """A channel of a Meta app: its own credentials, the app secret, and a verify token."""
    return Kind(name, title, (*credentials, _META_SECRET), generated="verify_token")


KINDS: dict[str, Kind] = {
    "telegram": Kind(
        "telegram",
        "Telegram bot",
        (Credential("token", "Bot token", "TELEGRAM_BOT_TOKEN", "@BotFather"),),
        generated="secret_token",
    ),
    "slack": Kind(
        "slack",
        "Slack app",
        (
            Credential("token", "Bot token (xoxb-…)", "SLACK_BOT_TOKEN", "your Slack app's OAuth & Permissions page"),
            Credential(
                "signing_secret", "Signing secret", "SLACK_SIGNING_SECRET", "your Slack app's Basic Information page"
            ),
        ),
    ),
    "whatsapp": _meta(
        "whatsapp",
        "WhatsApp number",
        Credential("token", "Access token", "WHATSAPP_TOKEN", "your Meta app's WhatsApp → API Setup page"),
        Credential("phone_id", "Phone number ID", "WHATSAPP_PHONE_ID", "your Meta app's WhatsApp → API Setup page"),
    ),
    "messenger": _meta(
        "messenger",
        "Facebook page",
        Credential("page_token", "Page access token", "META_PAGE_TOKEN", "your Meta app's Messenger settings"),
    ),
    "instagram": _meta(
        "instagram",
        "Instagram account",
        Credential("page_token", "Page access token", "META_PAGE_TOKEN", "your Meta app's Instagram settings"),
    ),
    "web": Kind("web", "Web chat", ()),
}


class MissingCredential(ValueError):
    """A credential was neither given nor stored before; the message names it and where to find it."""

    def __init__(self, credential: Credential, sentence: str) -> None:
        super().__init__(sentence)
        self.credential = credential


def credentials(kind: Kind, given: Mapping[str, str], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The deployment's credentials: those given (blank ones keep what was stored before), every
    one required, and the generated token made once and then kept. Raises MissingCredential."""
    result = dict(stored or {})
    for credential in kind.credentials:
        value = (given.get(credential.key) or "").strip()
        if value:
            result[credential.key] = value
        if not result.get(credential.key):
            raise MissingCredential(credential, f"The {credential.label.lower()} is missing (from {credential.where}).")
    if kind.generated:
        result.setdefault(kind.generated, secrets.token_urlsafe(32))
    return result

"""input.url: ask for a web address; "example.com" becomes "https://example.com"."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import INVALID, REFUSED, VALID, AskSettings, Verdict, ask, ok, ports_with_timeout

_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$"  # names, IDN top-level domains too
    r"|^localhost$|^\d{1,3}(\.\d{1,3}){3}$",
    re.IGNORECASE,
)


class UrlSettings(AskSettings):
    """A question answered with a web address."""


def check_url(answer: str) -> Verdict:
    """An http(s) address with a real-looking host; a missing scheme is taken to be https."""
    text = answer if "://" in answer else f"https://{answer}"
    if any(c.isspace() for c in text):
        return REFUSED
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - reading it is what raises on a port like :99999
        host = (parts.hostname or "").encode("idna").decode("ascii")  # münchen.de → xn--mnchen-3ya.de
    except (ValueError, UnicodeError):
        return REFUSED
    # user@host is almost always an email address typed into the wrong question.
    if parts.scheme not in ("http", "https") or parts.username is not None or not _HOST.match(host):
        return REFUSED
    return ok(text)


async def run(ctx: NodeContext, settings: UrlSettings) -> Step:
    retry = "That doesn't look like a web address. Please try again, for example example.com."
    return await ask(ctx, settings, check_url, default_retry=retry)


NODE = NodeType(
    type="input.url",
    version=1,
    title="Ask for a web address",
    category="Inputs",
    icon="link",
    description="Asks for a link, checks it is a web address, and saves it (adding https:// when missing).",
    settings=UrlSettings,
    run=run,
    outputs=ports_with_timeout(VALID, INVALID),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

"""input.url: ask for a web address; "example.com" becomes "https://example.com"."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from nodes.api import NodeContext, NodeType, Step
from nodes.inputs.asking import AskSettings, Verdict, ask, ok, ports_with_timeout, refuse

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$|^localhost$|^\d{1,3}(\.\d{1,3}){3}$", re.I)


class UrlSettings(AskSettings):
    """A question answered with a web address."""


def check_url(answer: str) -> Verdict:
    text = answer if "://" in answer else f"https://{answer}"
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:
        return refuse()
    if parts.scheme not in ("http", "https") or not _HOST.match(host) or " " in text:
        return refuse()
    return ok(text)


async def run(ctx: NodeContext, settings: UrlSettings) -> Step:
    return await ask(ctx, settings, check_url, default_retry="That doesn't look like a web address. Please try again.")


NODE = NodeType(
    type="input.url",
    version=1,
    title="Ask for a web address",
    category="Inputs",
    description="Asks for a link, checks it is a web address, and saves it.",
    settings=UrlSettings,
    run=run,
    outputs=ports_with_timeout("valid", "invalid"),
    waits=True,
    summary=lambda s: s.prompt[:80],
)

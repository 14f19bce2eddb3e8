"""Which chat platforms there are, and the adapter of each deployed account.

A channel is a plugin like a node type: a `ChannelType` registered in the `chatloom.channels`
entry-point group of any installed package. The six built-in ones register the same way (see
pyproject.toml), so a third party adds a platform as a package:

    [project.entry-points."chatloom.channels"]
    line = "chatloom_line:LINE"        # a ChannelType named "line"

The platform's module (and its SDK) is imported only when an account on it is first used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from runtime.channels.base import Adapter
from runtime.channels.store import ChannelStore, Deployment

log = logging.getLogger(__name__)
GROUP = "chatloom.channels"
DEPLOYMENT_TTL = 5.0  # seconds a deployment is used before it is read again
AdapterFactory = Callable[[str, dict[str, Any], str], Adapter]  # (account, credentials, api base)


@dataclass(frozen=True)
class ChannelType:
    """A chat platform Chatloom delivers to through the outbox."""

    name: str  # in webhook addresses (/hooks/<name>/<account>) and deployments
    make: AdapterFactory | None  # None: not delivered through the outbox (the web widget talks over a socket)
    pace: float = 0.0  # seconds between two messages to one chat (the platform's limit)
    rate: int | None = None  # messages a second per account, when the platform limits it
    file_scheme: str = ""  # the scheme of this channel's references to files users sent ("telegram-file")
    routes: Callable[[Any], Any] | None = None  # (channels service) → a FastAPI router of its own pages


def _widget_routes(channels: Any) -> Any:
    from runtime.channels.widget import widget_routes

    return widget_routes(channels)


def _telegram(account: str, credentials: dict[str, Any], api_base: str) -> Adapter:
    from runtime.channels.telegram import Telegram  # python-telegram-bot only where Telegram is used

    return Telegram(account, credentials, api_base)


def _slack(account: str, credentials: dict[str, Any], api_base: str) -> Adapter:
    from runtime.channels.slack import Slack

    return Slack(account, credentials, api_base)


def _meta(channel: str) -> AdapterFactory:
    def make(account: str, credentials: dict[str, Any], api_base: str) -> Adapter:
        from runtime.channels.meta import Meta

        return Meta(channel, account, credentials, api_base)

    return make


def _whatsapp(account: str, credentials: dict[str, Any], api_base: str) -> Adapter:
    from runtime.channels.whatsapp import WhatsApp

    return WhatsApp(account, credentials, api_base)


# the built-in platforms, registered as entry points in pyproject.toml (about one message a
# second per chat on Telegram, Slack and Meta's apps; WhatsApp limits each business number)
TELEGRAM = ChannelType("telegram", _telegram, pace=1.0, file_scheme="telegram-file")
WHATSAPP = ChannelType("whatsapp", _whatsapp, rate=80, file_scheme="whatsapp-media")
SLACK = ChannelType("slack", _slack, pace=1.0)
MESSENGER = ChannelType("messenger", _meta("messenger"), pace=0.2)
INSTAGRAM = ChannelType("instagram", _meta("instagram"), pace=0.2)
WEB = ChannelType("web", None, routes=_widget_routes)  # the chat widget for websites


@cache
def installed() -> dict[str, ChannelType]:
    """Every channel type of the installed packages, by name. One that fails to load, is not a
    ChannelType named as its entry point, or takes a name already taken (Chatloom's own come
    first, then by package name) is left out with a warning; the others still work."""
    found: dict[str, tuple[ChannelType, str]] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda ep: (_package(ep) != "chatloom", _package(ep), ep.name)):
        package = _package(ep)
        try:
            kind = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the server
            log.warning("channel %r of %s not loaded: %s", ep.name, package, exc)
            continue
        if not isinstance(kind, ChannelType) or kind.name != ep.name:
            log.warning("channel %r of %s not loaded: the entry point is not a ChannelType named so", ep.name, package)
            continue
        if kind.name in found:
            log.warning("channel %r of %s not loaded: the name is taken by %s", ep.name, package, found[kind.name][1])
            continue
        found[kind.name] = (kind, package)
    return {name: kind for name, (kind, _) in found.items()}


def _package(ep: Any) -> str:
    return str(ep.dist.name) if ep.dist is not None else "an unknown package"


class AdapterCache:
    """The adapter of each deployed account, made on first use. The deployment is read again every
    few seconds, so a change made by another process (the builder, while workers do the work)
    takes effect; the adapter is made again only when the credentials or the API address change."""

    def __init__(self, store: ChannelStore, types: dict[str, ChannelType], files: Any) -> None:
        self.store, self.types, self.files = store, types, files
        self._adapters: dict[tuple[str, str], tuple[Deployment, Adapter, float]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, channel: str, account: str) -> tuple[Deployment, Adapter] | None:
        fresh = self._fresh(channel, account)
        if fresh is not None:
            return fresh
        return self._settle(channel, account, self.store.deployment(channel, account))

    async def aget(self, channel: str, account: str, io: Any) -> tuple[Deployment, Adapter] | None:
        """As get, reading the deployment through `io` (off the event loop on a database server)."""
        fresh = self._fresh(channel, account)
        if fresh is not None:
            return fresh
        return self._settle(channel, account, await io(self.store.deployment, channel, account))

    def _fresh(self, channel: str, account: str) -> tuple[Deployment, Adapter] | None:
        """The cached pair while it is fresh, else None (the deployment must be read)."""
        found = self._adapters.get((channel, account))
        if found is not None and time.monotonic() - found[2] < DEPLOYMENT_TTL:
            return found[0], found[1]
        return None

    def _settle(self, channel: str, account: str, deployment: Deployment | None) -> tuple[Deployment, Adapter] | None:
        key = (channel, account)
        found = self._adapters.get(key)
        kind = self.types.get(channel)
        if deployment is None or kind is None or kind.make is None:
            if found is not None:
                self._retire(self._adapters.pop(key)[1])
            return None
        adapter = found[1] if found is not None and _same_connection(found[0], deployment) else None
        if adapter is None:
            if found is not None:
                self._retire(found[1])
            adapter = kind.make(account, deployment.credentials, deployment.api_base)
            adapter.files = self.files  # it uploads the bot's own files (spoken replies)
        self._adapters[key] = (deployment, adapter, time.monotonic())
        return deployment, adapter

    async def forget(self, channel: str, account: str) -> None:
        """Read the deployment again at once (this process changed it)."""
        found = self._adapters.pop((channel, account), None)
        if found is not None:
            await found[1].close()

    async def close(self) -> None:
        for _, adapter, _ in self._adapters.values():
            await adapter.close()
        self._adapters.clear()
        await asyncio.gather(*self._closing, return_exceptions=True)

    def _retire(self, adapter: Adapter) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: nothing was opened
            task = asyncio.get_running_loop().create_task(adapter.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


def _same_connection(old: Deployment, new: Deployment) -> bool:
    return old.credentials == new.credentials and old.api_base == new.api_base

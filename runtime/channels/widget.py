"""The web chat widget: an embeddable script, and a WebSocket per open chat.

Paste `<script src="https://your.server/widget/<account>.js" async></script>` into any page: it
draws a chat bubble that opens a conversation over `/widget/<account>/ws`. Everything is served by
Chatloom itself. A visitor is a random id the browser keeps, so the history comes back after a
reload; a message sent while the connection was down is sent again and answered once (its id is
the inbound event id); after a reconnection the browser asks for the lines after the last it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response

from nodes.api import Inbound
from runtime.access import Limiter
from runtime.channels.service import Channels
from runtime.channels.store import Deployment
from runtime.engine import ConversationExists, Runtime

VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
FRAMES_PER_10S = 20  # what a person types or taps, with room for reconnections
MAX_FRAME = 8 * 1024  # a typed message is at most 4,096 characters
SCRIPT = files("runtime.channels").joinpath("widget.js").read_text(encoding="utf-8")


class Sockets:
    """Which open sockets show which conversation, to push messages the flow sends on its own
    (after a wait) to the chats that are open."""

    def __init__(self) -> None:
        self.open: dict[str, set[asyncio.Event]] = {}

    def poke(self, cid: str, _messages: Any = None) -> None:
        for event in self.open.get(cid, ()):
            event.set()


def widget_routes(channels: Channels) -> APIRouter:
    router = APIRouter()
    runtime: Runtime = channels.runtime
    sockets = Sockets()
    runtime.subscribe(sockets.poke)

    def deployed(account: str) -> bool:
        if not ACCOUNT.match(account):
            return False
        deployment = channels.store.deployment("web", account)
        return deployment is not None and not deployment.paused

    @router.get("/widget/{account}.js", include_in_schema=False)
    async def script(account: str) -> Response:
        if not deployed(account):
            return JSONResponse({"detail": f"There is no web chat {account!r} here."}, status_code=404)
        return Response(SCRIPT, media_type="text/javascript", headers={"cache-control": "no-cache"})

    @router.get("/widget/{account}/preview", include_in_schema=False)
    async def preview(account: str) -> Response:
        if not deployed(account):
            return JSONResponse({"detail": f"There is no web chat {account!r} here."}, status_code=404)
        name = html.escape(account)
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{name}: chat preview</title></head>"
            f"<body style='font-family:sans-serif'><h1>A page with the “{name}” chat</h1>"
            "<p>This is how the chat looks on a website: the bubble in the bottom right corner.</p>"
            f"<script src='/widget/{name}.js' async></script></body></html>"
        )
        return HTMLResponse(page)

    @router.websocket("/widget/{account}/ws")
    async def chat(websocket: WebSocket, account: str, visitor: str = "") -> None:
        deployment = channels.store.deployment("web", account) if deployed(account) else None
        if deployment is None or not VISITOR.match(visitor):
            await websocket.close(code=4404)
            return
        await websocket.accept()
        await _Chat(websocket, channels, sockets, deployment, visitor).run()

    return router


class _Chat:
    """One open widget: frames in, transcript lines out."""

    def __init__(
        self, websocket: WebSocket, channels: Channels, sockets: Sockets, deployment: Deployment, visitor: str
    ) -> None:
        self.ws, self.runtime, self.sockets, self.deployment, self.visitor = (
            websocket,
            channels.runtime,
            sockets,
            deployment,
            visitor,
        )
        # keyed with the installation's secret: the visitor id opens the chat, but no one can work out
        # the conversation's id from it (and a `chat` token could not use it anyway)
        stored = self.runtime.store
        self.cid = channels.store.ids.find("web", deployment.account, visitor, lambda c: stored.load(c) is not None)
        self.poked = asyncio.Event()
        self.last = 0
        self.pace = Limiter(FRAMES_PER_10S, 10)  # one browser cannot make the flow run without pause

    async def run(self) -> None:
        self.sockets.open.setdefault(self.cid, set()).add(self.poked)
        try:
            while True:
                receiving = asyncio.ensure_future(self.ws.receive_text())
                waiting = asyncio.ensure_future(self.poked.wait())
                done, _ = await asyncio.wait({receiving, waiting}, return_when=asyncio.FIRST_COMPLETED)
                if waiting in done:  # the flow said something on its own (after a wait)
                    self.poked.clear()
                    receiving.cancel()
                    with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                        await receiving
                    await self.push()
                    continue
                waiting.cancel()
                await self.frame(receiving.result())
        except WebSocketDisconnect:
            pass
        finally:
            self.sockets.open.get(self.cid, set()).discard(self.poked)
            if not self.sockets.open.get(self.cid):
                self.sockets.open.pop(self.cid, None)

    async def push(self) -> None:
        """The lines the browser has not shown yet, as the visitor said and received them (never masked)."""
        for line in self.runtime.store.messages(self.cid, after=self.last, as_said=True):
            await self.ws.send_json({"type": "line", **line.to_json()})
            self.last = line.id

    async def frame(self, frame: str) -> None:
        if self.pace.hit(""):
            await self.ws.send_json({"type": "error", "detail": "You are sending messages too fast; wait a moment."})
            return
        if len(frame) > MAX_FRAME:
            await self.ws.send_json({"type": "error", "detail": "That message is too long."})
            return
        try:
            data = json.loads(frame)
            kind = data["type"]
        except (ValueError, KeyError, TypeError):
            await self.ws.send_json({"type": "error", "detail": "The chat sent something it should not."})
            return
        if kind == "hello":
            await self.hello(data)
        elif kind == "say":
            await self.say(data)
        elif kind == "rate":
            self.rate(data)

    def rate(self, data: dict[str, Any]) -> None:
        """👍/👎 on an AI answer of this conversation (another conversation's answers cannot be rated)."""
        ai, score = self.runtime.ai, data.get("score")
        if ai is not None and score in (1, -1) and isinstance(data.get("feedback"), str):
            ai.calls.rate(data["feedback"][:64], score, conversation_id=self.cid)

    async def hello(self, data: dict[str, Any]) -> None:
        """The browser (re)connected: start the conversation if new, send what it has not seen."""
        try:
            self.last = max(0, int(data.get("after") or 0))
        except (TypeError, ValueError):
            self.last = 0
        if self.runtime.store.load(self.cid) is None:
            d = self.deployment
            with contextlib.suppress(ConversationExists):
                await self.runtime.start(
                    d.flow_id,
                    version=d.version,
                    user_id=self.visitor,
                    channel="web",
                    account=d.account,
                    conversation_id=self.cid,
                )
        await self.push()

    async def say(self, data: dict[str, Any]) -> None:
        """A message (or a button press); its id makes a resend after a reconnection harmless."""
        text, choice, mid = str(data.get("text", ""))[:4096], data.get("choice"), str(data.get("id", ""))[:64]
        choice = str(choice) if choice is not None else None
        inbound = Inbound(text=text, choice=choice, event_id=f"{self.visitor}:{mid}")
        await self.runtime.send(self.cid, inbound, restart_on=self.deployment.version)
        await self.ws.send_json({"type": "ack", "id": mid})
        await self.push()

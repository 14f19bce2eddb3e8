"""The webhook routes: `POST /hooks/{channel}/{account}` and the subscription handshake `GET`.

Each request is verified before anything else, stored, and answered at once; the events are
handled after the answer (Slack retries after 3 s). Refusals are one sentence in
`{"detail": …}` with 401/403 (not from the platform), 400 (not JSON, not an update), 404 (no such
channel account) or 413 (over 64 KB); nothing refused is stored.

The POST is served by `HookGate`, a pure ASGI layer in front of the app's routing: a webhook is the
hot path of every bot, and FastAPI's routing, request objects and exception layers cost more than
verifying and storing the event does.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from runtime.asgi import OOPS, TooLarge, answer, answer_json, read_body
from runtime.channels.base import Rejected
from runtime.channels.service import Channels

log = logging.getLogger(__name__)
PREFIX = "/hooks/"


class HookGate:
    """Serves `POST /hooks/{channel}/{account}`; everything else goes on to the app."""

    def __init__(self, app: ASGIApp, channels: Channels, limit: int) -> None:
        self.app, self.channels, self.limit = app, channels, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        channel, _, account = path[len(PREFIX) :].partition("/")
        if not channel or not account or "/" in account:
            await self.app(scope, receive, send)  # not a webhook address: the app's 404
            return
        try:
            body = await read_body(scope, receive, self.limit)
        except TooLarge as exc:
            await answer(send, 413, str(exc))
            return
        if body is None:
            return  # the client went away
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            fresh, reply = await self.channels.receive(channel, account, headers, body)
        except Rejected as exc:
            if exc.status in (401, 403):
                log.warning("webhook %s/%s refused: %s", channel, account, exc.reason)  # never the header itself
            await answer(send, exc.status, exc.reason)
            return
        except Exception:
            log.exception("unexpected error on a %s/%s webhook", channel, account)
            await answer(send, 500, OOPS)  # the platform will deliver it again
            return
        await answer_json(send, 200, reply if reply is not None else {"ok": True, "new": fresh})


def hook_routes(channels: Channels) -> APIRouter:
    """The handshake route (the POST is HookGate's)."""
    router = APIRouter()

    @router.get("/hooks/{channel}/{account}", include_in_schema=False)
    async def subscribe(channel: str, account: str, request: Request) -> Response:
        try:
            challenge = channels.challenge(channel, account, dict(request.query_params))
        except Rejected as exc:
            return JSONResponse({"detail": exc.reason}, status_code=exc.status)
        return PlainTextResponse(challenge)

    return router

"""The webhook routes: `POST /hooks/{channel}/{account}`.

Each request is verified before anything else, stored, and answered at once; the events are
handled after the answer (Slack retries after 3 s). Refusals are one sentence in
`{"detail": …}` with 401/403 (not from the platform), 400 (not JSON, not an update), 404 (no such
channel account) or 413 (over 64 KB, from the app's Guard); nothing refused is stored.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from runtime.channels.base import Rejected
from runtime.channels.service import Channels

log = logging.getLogger(__name__)


def hook_routes(channels: Channels) -> APIRouter:
    router = APIRouter()

    async def hook(request: Request) -> JSONResponse:
        channel, account = request.path_params["channel"], request.path_params["account"]
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            fresh, answer = await channels.receive(channel, account, headers, body)
        except Rejected as exc:
            if exc.status in (401, 403):
                log.warning("webhook %s/%s refused: %s", channel, account, exc.reason)  # never the header itself
            return JSONResponse({"detail": exc.reason}, status_code=exc.status)
        return JSONResponse(answer if answer is not None else {"ok": True, "new": fresh})

    # a plain Starlette route: FastAPI's parameter machinery would only cost time on the hot path
    router.routes.append(Route("/hooks/{channel}/{account}", hook, methods=["POST"]))

    @router.get("/hooks/{channel}/{account}", include_in_schema=False)
    async def subscribe(channel: str, account: str, request: Request) -> Response:
        try:
            challenge = channels.challenge(channel, account, dict(request.query_params))
        except Rejected as exc:
            return JSONResponse({"detail": exc.reason}, status_code=exc.status)
        return PlainTextResponse(challenge)

    return router

"""A small fake of Slack's Web API (https://docs.slack.dev/reference/methods/chat.postMessage) on
127.0.0.1 for slack-sdk's AsyncWebClient, and a signer for Events API requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class FakeSlack:
    token: str
    url: str = ""
    posted: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    def fail_next(self, status: int, error: str, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.failures.append((status, {"ok": False, "error": error}, headers))

    def texts(self) -> list[str]:
        return [str(p.get("text", "")) for p in self.posted]

    async def post_message(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        if request.headers.get("content-type", "").startswith("application/json"):
            params = await request.json()
        else:
            params = dict(await request.form())
            if isinstance(params.get("blocks"), str):
                params["blocks"] = json.loads(params["blocks"])
        if self.failures:
            status, body, headers = self.failures.pop(0)
            return JSONResponse(body, status_code=status, headers=headers)
        self.posted.append(params)
        ts = f"{time.time():.6f}"
        return JSONResponse(
            {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {"text": params.get("text"), "ts": ts}}
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/chat.postMessage", self.post_message, methods=["POST"])])


def signed(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request: its timestamp and v0 signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

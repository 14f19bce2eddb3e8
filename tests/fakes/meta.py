"""A small fake of the Graph API's Send API (POST /{version}/me/messages) on 127.0.0.1, and the
signature Meta puts on webhook requests."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class FakeGraph:
    token: str
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    def fail_next(self, status: int, code: int, message: str, retry_after: int | None = None) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.failures.append((status, {"error": {"message": message, "type": "OAuthException", "code": code}}, headers))

    def texts(self) -> list[str]:
        return [str(m["message"].get("text", "")) for m in self.sent]

    async def messages(self, request: Request) -> Response:
        if request.query_params.get("access_token") != self.token:
            return JSONResponse({"error": {"message": "Invalid OAuth access token.", "code": 190}}, status_code=400)
        if self.failures:
            status, body, headers = self.failures.pop(0)
            return JSONResponse(body, status_code=status, headers=headers)
        body = await request.json()
        self.sent.append(body)
        return JSONResponse({"recipient_id": body["recipient"]["id"], "message_id": f"m_{len(self.sent)}"})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{version}/me/messages", self.messages, methods=["POST"])])


def signature(app_secret: str, body: bytes) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()}

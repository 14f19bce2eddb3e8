"""A small fake of the WhatsApp Cloud API (POST /v{version}/{phone id}/messages) on 127.0.0.1, as
documented at developers.facebook.com/docs/whatsapp/cloud-api/reference/messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class FakeWhatsApp:
    token: str
    phone_id: str
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def fail_next(self, status: int, code: int, message: str) -> None:
        self.failures.append(
            (status, {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A"}})
        )

    def texts(self) -> list[str]:
        out = []
        for m in self.sent:
            if m.get("type") == "text":
                out.append(m["text"]["body"])
            elif m.get("type") == "interactive":
                out.append(m["interactive"]["body"]["text"])
            else:
                out.append(f"<{m.get('type')}>")
        return out

    async def messages(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": {"message": "Invalid OAuth access token.", "code": 190}}, status_code=401)
        if request.path_params["phone_id"] != self.phone_id:
            return JSONResponse({"error": {"message": "Unsupported post request.", "code": 100}}, status_code=400)
        if self.failures:
            status, body = self.failures.pop(0)
            return JSONResponse(body, status_code=status)
        body = await request.json()
        self.sent.append(body)
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": f"wamid.{len(self.sent)}"}],
            }
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{version}/{phone_id}/messages", self.messages, methods=["POST"])])

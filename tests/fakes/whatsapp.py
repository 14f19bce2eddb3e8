"""A small fake of the WhatsApp Cloud API on 127.0.0.1, as documented at
developers.facebook.com/docs/whatsapp/cloud-api/reference/messages and …/reference/media: sending
messages (POST /v{version}/{phone id}/messages), uploading media (POST …/{phone id}/media) and
reading it (GET /v{version}/{media id} → its address; GET that address with the token → bytes)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
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
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # media id → (bytes, mime type)
    uploads: list[dict[str, Any]] = field(default_factory=list)  # {"id", "type", "filename", "data"}
    downloads: list[str] = field(default_factory=list)  # the media ids whose bytes were read

    def add_media(self, media_id: str, data: bytes, mime: str = "audio/ogg; codecs=opus") -> None:
        """Hold a file a user sent, as WhatsApp does (for 30 days)."""
        self.media[media_id] = (data, mime)

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

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": {"message": "Invalid OAuth access token.", "code": 190}}, status_code=401)
        if request.path_params.get("phone_id", self.phone_id) != self.phone_id:
            return JSONResponse({"error": {"message": "Unsupported post request.", "code": 100}}, status_code=400)
        return None

    async def messages(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
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

    async def upload(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        form = await request.form()
        file, kind = form.get("file"), form.get("type")
        if form.get("messaging_product") != "whatsapp" or not isinstance(file, UploadFile) or not kind:
            return JSONResponse({"error": {"message": "(#100) Invalid parameter", "code": 100}}, status_code=400)
        data = await file.read()
        media_id = str(900000000000000 + len(self.uploads) + 1)  # Meta's media ids are numbers
        self.uploads.append({"id": media_id, "type": str(kind), "filename": file.filename, "data": data})
        self.media[media_id] = (data, str(kind))
        return JSONResponse({"id": media_id})

    async def media_url(self, request: Request) -> Response:
        if (refused := self._refused(request)) is not None:
            return refused
        media_id = request.path_params["media_id"]
        if media_id not in self.media:  # never sent, deleted or past its 30 days
            error = {"message": f"Unsupported get request. Object with ID '{media_id}' does not exist.", "code": 100}
            return JSONResponse({"error": {**error, "error_subcode": 33, "type": "GraphMethodException"}}, 404)
        data, mime = self.media[media_id]
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/whatsapp_business/attachments/?mid={media_id}",
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def download(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response(status_code=401)
        media_id = request.query_params.get("mid", "")
        if media_id not in self.media:
            return Response(status_code=404)
        self.downloads.append(media_id)
        data, mime = self.media[media_id]
        return Response(data, media_type=mime.partition(";")[0])

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/whatsapp_business/attachments/", self.download, methods=["GET"]),
                Route("/{version}/{phone_id}/messages", self.messages, methods=["POST"]),
                Route("/{version}/{phone_id}/media", self.upload, methods=["POST"]),
                Route("/{version}/{media_id}", self.media_url, methods=["GET"]),
            ]
        )

"""A small fake of the Telegram Bot API on 127.0.0.1, as the documented requests and answers
(https://core.telegram.org/bots/api): enough for python-telegram-bot to send, answer callback
queries, set a webhook and fetch files. It records what it was sent and can be told to fail."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import running

__all__ = ["FakeTelegram", "running"]


@dataclass
class FakeTelegram:
    token: str
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)  # sendMessage, sendAudio, … with "method"
    answered: list[str] = field(default_factory=list)  # callback query ids
    webhook: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id → bytes
    voices: list[bytes] = field(default_factory=list)  # the voice notes uploaded with sendVoice
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # the next answers to sendX
    on_sent: Callable[[dict[str, Any]], None] | None = None  # told of each message as it is accepted

    def fail_next(self, status: int, description: str, retry_after: int | None = None) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self.failures.append((status, body))

    def texts(self) -> list[str]:
        return [str(m.get("text") or m.get("caption") or "") for m in self.sent]

    async def api(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        if request.headers.get("content-type", "").startswith("application/json"):
            params = await request.json()
        else:
            try:
                form = await request.form()
            except ClientDisconnect:  # the sender went away mid-request (a worker killed by a benchmark)
                return Response(status_code=499)
            params = {}
            for key, value in form.items():
                if isinstance(value, UploadFile):  # a file sent with the request (multipart)
                    data = await value.read()
                    if key == "voice":
                        self.voices.append(data)
                    params[key] = f"<upload of {len(data)} bytes>"
                else:
                    params[key] = value
        if method == "getMe":
            return _ok({"id": 42, "is_bot": True, "first_name": "Fake", "username": "fake_bot"})
        if method in ("sendMessage", "sendAudio", "sendPhoto", "sendDocument", "sendVoice"):
            if self.failures:
                status, body = self.failures.pop(0)
                return JSONResponse(body, status_code=status)
            record = {"method": method, **params}
            if isinstance(record.get("reply_markup"), str):
                record["reply_markup"] = json.loads(record["reply_markup"])
            self.sent.append(record)
            if self.on_sent is not None:
                self.on_sent(record)
            chat = int(params["chat_id"])
            message = {"message_id": len(self.sent), "date": int(time.time()), "chat": {"id": chat, "type": "private"}}
            if "text" in params:
                message["text"] = params["text"]
            return _ok(message)
        if method == "answerCallbackQuery":
            self.answered.append(str(params["callback_query_id"]))
            return _ok(True)
        if method == "setWebhook":
            self.webhook = dict(params)
            return _ok(True)
        if method == "getFile":
            file_id = str(params["file_id"])
            if file_id not in self.files:
                return JSONResponse(
                    {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, 400
                )
            return _ok(
                {
                    "file_id": file_id,
                    "file_unique_id": "u" + file_id,
                    "file_size": len(self.files[file_id]),
                    "file_path": f"voice/{file_id}.oga",
                }
            )
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)

    async def file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        file_id = request.path_params["path"].rsplit("/", 1)[-1].removesuffix(".oga")
        return Response(self.files.get(file_id, b""), media_type="audio/ogg")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self.api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self.file),
            ]
        )


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})

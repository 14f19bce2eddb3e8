"""Small pure-ASGI helpers shared by the app's Guard and the webhook gate."""

from __future__ import annotations

import json

from starlette.types import Receive, Scope, Send

OOPS = "Something went wrong on our side."  # an unexpected failure: nothing about the inside


class TooLarge(Exception):
    """A request body over the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit // 1024} KB.")


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole request body, read before anyone acts on it (a chunked body has no
    Content-Length); None when the client went away. Raises TooLarge, by the Content-Length or by
    what arrives."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and (not value.isdigit() or int(value) > limit):
            raise TooLarge(limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def answer_json(send: Send, status: int, data: object) -> None:
    body = json.dumps(data, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def answer(send: Send, status: int, detail: str) -> None:
    """An error answer: `{"detail": "<one sentence>"}`."""
    await answer_json(send, status, {"detail": detail})

"""A fake OpenAI-compatible chat API on 127.0.0.1, for litellm's real OpenAI client.

`POST /v1/chat/completions` answers from a script of behaviours, one per call (the last repeats):
- ``("answer", text)``: 200 with that text and token counts;
- ``("fail", status, message)``: that status with an OpenAI-style error body;
- ``("slow", seconds)``: waits, then answers "late".
Each request's JSON and Authorization header are kept in `seen`.

`POST /v1/embeddings` answers every input with a vector of `DIMENSIONS` made from its words (texts
sharing words get similar vectors), not normalized, so a client must normalize them.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Behaviour = tuple[Any, ...]


class FakeOpenAI:
    def __init__(self, *script: Behaviour) -> None:
        self.url = ""
        self.script: list[Behaviour] = list(script) or [("answer", "Hello from the fake.")]
        self.seen: list[tuple[dict[str, Any], str]] = []

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.seen.append((body, request.headers.get("authorization", "")))
        behaviour = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        match behaviour:
            case ("fail", status, message):
                return JSONResponse({"error": {"message": message, "type": "error", "code": status}}, status)
            case ("slow", seconds):
                await asyncio.sleep(seconds)
                return _answer(body, "late")
            case ("answer", text):
                return _answer(body, text)
        raise AssertionError(f"unknown behaviour {behaviour!r}")

    async def embeddings(self, request: Request) -> Response:
        body = await request.json()
        self.seen.append((body, request.headers.get("authorization", "")))
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": n, "embedding": word_vector(t)} for n, t in enumerate(texts)]
        usage = {
            "prompt_tokens": sum(len(t.split()) for t in texts),
            "total_tokens": sum(len(t.split()) for t in texts),
        }
        return JSONResponse({"object": "list", "data": data, "model": body.get("model", "fake"), "usage": usage})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/v1/embeddings", self.embeddings, methods=["POST"]),
            ]
        )


DIMENSIONS = 64


def word_vector(text: str) -> list[float]:
    """A bag of words hashed into DIMENSIONS counts, times 3 (so it is not of unit length)."""
    vector = [0.0] * DIMENSIONS
    for word in text.casefold().split():
        vector[zlib.crc32(word.strip(".,?!").encode()) % DIMENSIONS] += 3.0
    return vector


def _answer(body: dict[str, Any], text: str) -> JSONResponse:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    return JSONResponse(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": len(text.split()),
                "total_tokens": prompt + len(text.split()),
            },
        }
    )

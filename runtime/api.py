"""The runtime's HTTP API: start a conversation with a published flow, talk, read the transcript.

The first channel; the messenger channels use the same Runtime. Handlers stay thin.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flows.store import FlowNotFound
from nodes.api import Inbound, Media
from runtime.engine import Busy, ConversationNotFound, Runtime
from runtime.plan import FlowInvalid

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024


class MediaIn(BaseModel):
    """An attachment, by URL."""

    kind: Literal["image", "audio", "video", "file"]
    url: str = Field(max_length=2048)
    name: str = Field("", max_length=200)
    mime: str = Field("", max_length=100)


class StartIn(BaseModel):
    """Start a conversation."""

    user_id: str = Field("", max_length=200, description="Your id for the person; kept with the conversation.")
    variables: dict[str, Any] = Field(default_factory=dict, description="Starting values of flow variables.")
    version: int | None = Field(None, ge=1, description="A published version; the latest when left out.")


class MessageIn(BaseModel):
    """What the person said: text, a pressed button's value, or an attachment."""

    text: str = Field("", max_length=4096)
    choice: str | None = Field(None, max_length=200, description="The value of the button that was pressed.")
    event_id: str | None = Field(
        None, max_length=200, description="Your id for this message; sending the same id again is answered once."
    )
    media: MediaIn | None = None


class ButtonOut(BaseModel):
    title: str
    value: str


class MediaOut(BaseModel):
    kind: str
    url: str
    name: str | None = None
    mime: str | None = None
    duration: float | None = None


class MessageOut(BaseModel):
    """A message from the bot."""

    text: str
    buttons: list[ButtonOut] | None = None
    media: MediaOut | None = None
    multiple: bool | None = None


class Replies(BaseModel):
    messages: list[MessageOut]


class Started(Replies):
    conversation_id: str
    flow_id: str
    version: int


class ConversationOut(BaseModel):
    conversation_id: str
    flow_id: str
    version: int
    status: str = Field(description="waiting (for the person), sleeping (until a timer), ended or failed")
    waiting_at: str | None
    variables: dict[str, Any]


class TranscriptLine(MessageOut):
    id: int
    direction: Literal["in", "out"]
    node_id: str | None
    at: str
    choice: str | None = None


class Transcript(BaseModel):
    messages: list[TranscriptLine]


class FlowOut(BaseModel):
    id: str
    name: str
    latest_version: int


class Problem(BaseModel):
    detail: str


def create_app(runtime: Runtime) -> FastAPI:
    """The HTTP API around a runtime; the runtime's timers start and stop with the app."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.startup()
        try:
            yield
        finally:
            await runtime.shutdown()

    app = FastAPI(title="Chatloom runtime", version="1", lifespan=lifespan)
    app.state.runtime = runtime
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    _errors(app)
    missing: dict[int | str, dict[str, Any]] = {404: {"model": Problem}}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/flows")
    async def flows() -> list[FlowOut]:
        """Flows that have a published version."""
        return [
            FlowOut(id=f.id, name=f.name, latest_version=f.latest_version)
            for f in runtime.flows.list()
            if f.latest_version is not None
        ]

    @app.post("/api/flows/{flow_id}/conversations", status_code=201, responses=missing)
    async def start(flow_id: str, body: StartIn | None = None) -> Started:
        """Start a conversation; the reply holds the bot's first messages."""
        body = body or StartIn.model_validate({})
        cid, messages = await runtime.start(
            flow_id, version=body.version, user_id=body.user_id, variables=body.variables
        )
        state = runtime.store.load(cid)
        version = state.version if state else 0
        return Started(
            conversation_id=cid,
            flow_id=flow_id,
            version=version,
            messages=[MessageOut.model_validate(m.to_json()) for m in messages],
        )

    @app.post("/api/conversations/{conversation_id}/messages", responses=missing)
    async def send(conversation_id: str, body: MessageIn) -> Replies:
        """Send what the person said; the reply holds the bot's answers to it."""
        media = Media(body.media.kind, body.media.url, body.media.name, body.media.mime) if body.media else None
        inbound = Inbound(text=body.text, choice=body.choice, media=media, event_id=body.event_id)
        messages = await runtime.send(conversation_id, inbound)
        return Replies(messages=[MessageOut.model_validate(m.to_json()) for m in messages])

    @app.get("/api/conversations/{conversation_id}", responses=missing)
    async def conversation(conversation_id: str) -> ConversationOut:
        """Where the conversation stands."""
        state = runtime.store.load(conversation_id)
        if state is None:
            raise ConversationNotFound(f"There is no conversation {conversation_id!r}.")
        return ConversationOut(
            conversation_id=state.id,
            flow_id=state.flow_id,
            version=state.version,
            status=state.status,
            waiting_at=state.node,
            variables=state.vars,
        )

    @app.get("/api/conversations/{conversation_id}/messages", responses=missing)
    async def transcript(conversation_id: str, after: int = 0, limit: int = 100) -> Transcript:
        """Everything said, both ways, after message id `after` (poll with the last id you saw)."""
        if runtime.store.load(conversation_id) is None:
            raise ConversationNotFound(f"There is no conversation {conversation_id!r}.")
        rows = runtime.store.messages(conversation_id, after=after, limit=max(1, min(limit, 500)))
        return Transcript(messages=[TranscriptLine.model_validate(r.to_json()) for r in rows])

    return app


def _errors(app: FastAPI) -> None:
    """Every error is a JSON sentence; never a traceback."""

    def said(status: int, detail: str) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return said(400, "The request body is not valid JSON.")
        return said(422, " ".join(_sentence(e) for e in errors[:5]))

    @app.exception_handler(ConversationNotFound)
    @app.exception_handler(FlowNotFound)
    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return said(404, str(exc))

    @app.exception_handler(FlowInvalid)
    async def flow_invalid(_: Request, exc: Exception) -> JSONResponse:
        return said(409, str(exc))

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Exception) -> JSONResponse:
        return said(503, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return said(500, "Something went wrong on our side.")


def _sentence(error: Any) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p != "body"]
    field = "“" + ".".join(loc) + "”" if loc else "The request body"
    kind = error.get("type", "")
    if kind == "missing":
        return f"{field} is missing."
    if kind == "string_type":
        return f"{field} must be text."
    if kind in ("int_type", "int_parsing"):
        return f"{field} must be a whole number."
    if kind == "string_too_long":
        return f"{field} is too long (at most {error.get('ctx', {}).get('max_length')} characters)."
    msg = str(error.get("msg", "is not valid"))
    return f"{field}: {msg[0].lower() + msg[1:]}."


class BodyLimit:
    """Refuses bodies over `limit` bytes with 413, by Content-Length and by what actually arrives.

    Pure ASGI: BaseHTTPMiddleware would cost every request a task and a copy.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                body = json.dumps({"detail": _too_large(self.limit)}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # a chunked body with no (or a false) Content-Length
                    raise HTTPException(413, _too_large(self.limit))
            return message

        await self.app(scope, limited_receive, send)


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit // 1024} KB."

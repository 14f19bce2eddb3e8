"""The runtime's HTTP API: start a conversation with a published flow, talk, read the transcript.

The first channel; the messenger channels use the same Runtime. Handlers stay thin: the Runtime
does the work, this module only translates JSON and errors. Every error answer is
`{"detail": "<one sentence>"}`; an unexpected exception is logged and answered with a 500 that
says nothing about the inside (see Guard).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flows.problems import FlowInvalid
from flows.store import FlowNotFound
from nodes.api import Inbound, Media, Outbound
from runtime.access import Access, AccessGate, Principal, api_account
from runtime.ai.feedback_api import feedback_routes
from runtime.api_models import (
    ChannelWork,
    ConversationOut,
    FlowOut,
    Health,
    MessageIn,
    MessageOut,
    Problem,
    Ready,
    Replies,
    Started,
    StartIn,
    Transcript,
    TranscriptLine,
)
from runtime.asgi import OOPS, TooLarge, answer, read_body
from runtime.channels import inbox
from runtime.channels.hooks import HookGate, hook_routes
from runtime.channels.service import Channels
from runtime.conversations_api import conversation_routes
from runtime.engine import Busy, ConversationNotFound, Runtime
from runtime.knowledge_api import knowledge_routes, upload_limit
from runtime.login import account_routes, login_routes, sso_routes
from runtime.media import media_routes
from runtime.privacy_api import privacy_routes
from runtime.retention import Retention
from runtime.workspaces import DEFAULT

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
MAX_LINES = 500  # transcript lines per request
PING_WAIT = 2.0  # seconds the database has to answer a readiness check


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error answers for the OpenAPI schema (422 replaces FastAPI's own shape, which we never send)."""
    return {status: {"model": Problem} for status in statuses}


def create_app(
    runtime: Runtime, channels: Channels | None = None, *, work: bool = True, access: Access | None = None
) -> FastAPI:
    """The HTTP API around a runtime (and the channels' webhooks, when given); the runtime's
    timers and the channels' worker (unless `work` is False: a `chatloom worker` does it) start
    and stop with the app. Every route passes the access gate (runtime.access): only the
    webhooks, the widget, the health check and the sign-in pages are open to anyone."""

    app = FastAPI(title="Chatloom runtime", version="1", lifespan=_lifespan(runtime, channels, work))
    app.state.runtime = runtime
    app.add_middleware(Guard, limit=MAX_BODY, larger=upload_limit)
    _error_handlers(app)
    app.include_router(knowledge_routes(runtime))
    app.include_router(feedback_routes(runtime))
    if channels is not None:
        app.state.channels = channels
        app.add_middleware(HookGate, channels=channels, limit=MAX_BODY)  # outermost: before routing
        app.include_router(hook_routes(channels))
        for kind in channels.types.values():  # a channel's own pages (the web widget's)
            if kind.routes is not None:
                app.include_router(kind.routes(channels))
    access = access or Access(runtime.engine)
    _guard(app, runtime, access)

    app.include_router(media_routes(lambda: runtime.services.media))
    app.include_router(health_routes(Readiness(runtime, channels)))

    @app.get("/api/flows")
    async def flows(request: Request) -> list[FlowOut]:
        """Flows that have a published version, in the caller's workspaces."""
        principal: Principal = request.state.principal
        places = access.workspaces.flows_in()
        return [
            FlowOut(id=f.id, name=f.name, latest_version=f.latest_version)
            for f in runtime.flows.list()
            if f.latest_version is not None and principal.sees(places.get(f.id, DEFAULT))
        ]

    @app.post("/api/flows/{flow_id}/conversations", status_code=201, responses=_documented(400, 404, 409, 413, 422))
    async def start(flow_id: str, request: Request, body: StartIn | None = None) -> Started:
        """Start a conversation on a published flow; the answer holds the bot's first messages."""
        body = body or StartIn()
        plan = await runtime.plan(flow_id, body.version)  # FlowNotFound: 404
        cid, messages = await runtime.start(
            flow_id,
            version=plan.version,
            user_id=body.user_id,
            variables=body.variables,
            account=api_account(request.state.principal),  # who started it: a `chat` token reaches only its own
        )
        return Started(conversation_id=cid, flow_id=flow_id, version=plan.version, messages=_out(messages))

    @app.post("/api/conversations/{conversation_id}/messages", responses=_documented(400, 404, 413, 422, 503))
    async def send(conversation_id: str, body: MessageIn) -> Replies:
        """Send what the person said; the answer holds the bot's replies to it."""
        media = Media(body.media.kind, body.media.url, body.media.name, body.media.mime) if body.media else None
        # The runtime deduplicates event ids per channel; a client's ids are only unique in its conversation.
        event_id = f"{conversation_id}:{body.event_id}" if body.event_id is not None else None
        inbound = Inbound(text=body.text, choice=body.choice, media=media, event_id=event_id)
        return Replies(messages=_out(await runtime.send(conversation_id, inbound)))

    @app.get("/api/conversations/{conversation_id}", responses=_documented(404, 422))
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

    @app.get("/api/conversations/{conversation_id}/messages", responses=_documented(404, 422))
    async def transcript(
        conversation_id: str,
        after: int = Query(0, ge=0, description="Only lines with a greater id: the last id you saw."),
        limit: int = Query(100, ge=1, le=MAX_LINES, description="At most this many lines."),
    ) -> Transcript:
        """Everything said, both ways, oldest first, including what a timer sent later."""
        lines = runtime.store.messages(conversation_id, after=after, limit=limit)
        if not lines and runtime.store.load(conversation_id) is None:
            raise ConversationNotFound(f"There is no conversation {conversation_id!r}.")
        return Transcript(messages=[TranscriptLine.model_validate(line.to_json()) for line in lines])

    return app


class Readiness:
    """Whether this process can do its job now, in plain words (GET /ready): the database answers a
    trivial query within PING_WAIT; where webhooks come in, the inbox is not so full that they are
    refused; in a `chatloom worker`, the worker holds its claims. One query at a time: a database
    that hangs holds one thread, however often the probes come."""

    def __init__(self, runtime: Runtime, channels: Channels | None, *, worker: bool = False) -> None:
        self.runtime, self.channels, self.worker = runtime, channels, worker
        self._ping: asyncio.Task[None] | None = None
        self._was: str = ""  # the last problems, logged when they change

    async def check(self) -> Ready:
        problems = [] if await self._database_answers() else ["The database does not answer."]
        work = None
        if self.channels is not None:
            work = ChannelWork(**self.channels.health(), backlog_limit=inbox.MAX_BACKLOG)
            if self.worker and not work.claims:
                problems.append(self._no_claims())
            if not self.worker and self.channels.inbox.full:  # the webhooks are refused
                problems.append("Too many messages are waiting to be answered.")
        detail = " ".join(problems)
        if detail != self._was:
            log.warning("this process is %s", f"not ready: {detail}" if detail else "ready again")
            self._was = detail
        return Ready(status="not ready" if problems else "ready", detail=detail, channels=work)

    async def _database_answers(self) -> bool:
        if self._ping is None or self._ping.done():
            self._ping = asyncio.ensure_future(self.runtime.io(self._select_one))
            self._ping.add_done_callback(lambda t: t.cancelled() or t.exception())  # seen here, or not at all
        try:
            await asyncio.wait_for(asyncio.shield(self._ping), PING_WAIT)
        except Exception:  # noqa: BLE001 - any failure, a timeout too, is the same answer
            return False
        return True

    def _select_one(self) -> None:
        with self.runtime.engine.connect() as c:
            c.execute(text("SELECT 1"))

    def _no_claims(self) -> str:
        if self.runtime.engine.dialect.name == "sqlite":  # one worker at a time holds the lease
            return "The worker does not hold the database's lease: on SQLite one worker works at a time."
        return "The worker has lost its connection for claiming chats; it is reconnecting."


def health_routes(readiness: Readiness) -> APIRouter:
    """GET /health (the process answers) and GET /ready (it can do its job)."""
    router = APIRouter()

    @router.get("/health")
    async def health() -> Health:
        return Health()

    @router.get("/ready", response_model=Ready, responses={503: {"model": Ready, "description": "Not ready"}})
    async def ready() -> JSONResponse:
        """Whether this process can do its job: 200 when it can, 503 with `detail` saying why not."""
        said = await readiness.check()
        return JSONResponse(said.model_dump(mode="json"), status_code=200 if said.status == "ready" else 503)

    return router


def health_app(runtime: Runtime, channels: Channels) -> FastAPI:
    """The health endpoints of a `chatloom worker` (which has no other HTTP server)."""
    app = FastAPI(title="Chatloom worker", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(health_routes(Readiness(runtime, channels, worker=True)))
    return app


def _lifespan(runtime: Runtime, channels: Channels | None, work: bool) -> Callable[[FastAPI], Any]:
    """Start and stop with the app: the runtime's timers, retention, and the channels' worker."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.startup()
        retention: Retention = app.state.retention
        retention.apply()  # transcripts masked from the first turn, when asked
        if work:
            retention.start()
        if channels is not None:
            await channels.start(work=work)
        try:
            yield
        finally:
            if channels is not None:
                await channels.stop()
            await retention.stop()
            await runtime.shutdown()

    return lifespan


def _guard(app: FastAPI, runtime: Runtime, access: Access) -> None:
    """The access gate, outermost (nothing is read before it decides), and the account routes."""
    app.state.access = access
    app.state.retention = Retention(runtime, access.audit)
    app.add_middleware(AccessGate, access=access)
    app.include_router(login_routes(access))
    app.include_router(sso_routes(access))
    app.include_router(account_routes(access))
    app.include_router(privacy_routes(runtime, access))
    app.include_router(conversation_routes(runtime, access))
    plain = app.openapi

    def openapi() -> dict[str, Any]:  # the schema says how to authenticate: a bearer token
        schema = plain()
        schema.setdefault("components", {})["securitySchemes"] = {
            "token": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token from the builder's account page.",
            }
        }
        schema["security"] = [{"token": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _out(messages: Sequence[Outbound]) -> list[MessageOut]:
    return [MessageOut.model_validate(m.to_json()) for m in messages]


def _error_handlers(app: FastAPI) -> None:
    """Known failures as one JSON sentence each; anything else is Guard's."""

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
    async def flow_invalid(_: Request, exc: Exception) -> JSONResponse:  # e.g. a node type was uninstalled
        return said(409, str(exc))

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Exception) -> JSONResponse:
        return said(503, str(exc))


_LOCATIONS = {"body", "query", "path", "header"}


def _sentence(error: Any) -> str:
    """A pydantic error as a sentence a person can act on, e.g. “text” must be text."""
    loc = [str(p) for p in error.get("loc", ())]
    if loc and loc[0] in _LOCATIONS:
        loc = loc[1:]
    field = "“" + ".".join(loc) + "”" if loc else "The request body"
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if not loc and isinstance(error.get("input"), bytes):  # not sent as JSON
        return "The request body must be JSON, sent with content-type: application/json."
    said = {
        "missing": "is missing",
        "extra_forbidden": "is not a field this request knows",
        "string_type": "must be text",
        "int_type": "must be a whole number",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "dict_type": "must be a JSON object",
        "model_type": "must be a JSON object",
        "model_attributes_type": "must be a JSON object",
        "string_too_short": "must not be empty",
        "string_too_long": f"is too long (at most {ctx.get('max_length')} characters)",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "literal_error": f"must be {ctx.get('expected')}",
    }.get(kind)
    if said is None:
        msg = str(error.get("msg") or "is not valid").rstrip(".")
        return f"{field}: {msg[:1].lower() + msg[1:]}."
    return f"{field} {said}."


class Guard:
    """Pure ASGI (BaseHTTPMiddleware would cost every request a task and a copy):

    - a body over `limit` bytes is refused with 413, by its Content-Length and by what arrives;
    - an exception nothing else handled is logged with the conversation id and answered with a
      bare 500, never a traceback, and not raised on to the server (which would log it twice).
    """

    def __init__(self, app: ASGIApp, limit: int, larger: Callable[[str], int | None] | None = None) -> None:
        self.app, self.limit = app, limit
        self.larger = larger  # a route's own, larger limit (uploads), by path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            limit = (self.larger(scope["path"]) if self.larger else None) or self.limit
            body: bytes | None = await read_body(scope, receive, limit)
        except TooLarge as exc:
            await answer(send, 413, str(exc))
            return
        if body is None:
            return  # the client went away
        started = False

        async def replay() -> Message:
            nonlocal body
            if body is None:
                return await receive()
            message, body = {"type": "http.request", "body": body, "more_body": False}, None
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, replay, watched)
        except Exception:
            params = scope.get("path_params") or {}
            cid, flow_id = params.get("conversation_id"), params.get("flow_id")
            log.exception(
                "unexpected error on %s %s (conversation %s, flow %s)",
                scope.get("method"),
                scope.get("path"),
                cid,
                flow_id,
                extra={"conversation_id": cid, "flow_id": flow_id},
            )
            if started:
                raise  # too late for an answer: the server closes the connection
            await answer(send, 500, OOPS)

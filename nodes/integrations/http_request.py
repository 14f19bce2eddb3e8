"""http.request: call a web API, keep parts of its answer in variables, retry when it is busy.

Templates in the address, headers, query and body may use the conversation's variables and
``{{ secrets.NAME }}`` (from the deployment's secrets, so API keys stay out of flow files).
Header values, query strings and bodies are never logged: they may hold those secrets.
Requests go through the runtime's outbound guard (`Services.http_for`, else `Services.http`): a
private or metadata address, or a redirect to one, ends in `http_error` with one sentence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, Field

from flows.expressions import render
from flows.models import VARIABLE_PATTERN
from nodes.api import HttpClient, HttpRefused, HttpResponse, NodeContext, NodeType, Step

log = logging.getLogger(__name__)

ERROR_VARIABLE = "http_error"
MAX_BACKOFF = 30.0  # seconds; a person is waiting for the bot's answer
MAX_BODY_CHARS = 100_000  # a whole body kept in a variable is saved with every turn


class NameValue(BaseModel):
    """A header or query parameter."""

    name: str = Field(min_length=1, max_length=200, title="Name")
    value: str = Field("", max_length=4096, title="Value", description="{{ name }} inserts a variable.")


class ResponseField(BaseModel):
    """A part of the answer to keep in a variable."""

    variable: str = Field(pattern=VARIABLE_PATTERN, title="Variable")
    path: str = Field(
        "",
        max_length=500,
        title="Where in the answer",
        description="Names separated by dots, positions in lists in [ ]: data.items[0].name. Empty: the whole answer.",
    )


class HttpRequestSettings(BaseModel):
    """Settings of a call to a web API."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field("GET", title="Method")
    url: str = Field(
        min_length=1,
        max_length=2048,
        title="Address (URL)",
        description="Starts with https:// or http://. {{ name }} inserts a variable.",
    )
    headers: list[NameValue] = Field(
        default_factory=list,
        max_length=50,
        title="Headers",
        description="Such as Authorization: Bearer {{ secrets.API_KEY }}. Never shown in logs.",
    )
    query: list[NameValue] = Field(default_factory=list, max_length=50, title="Query parameters")
    body: str = Field(
        "",
        max_length=100_000,
        title="Body",
        description="Sent with POST, PUT and PATCH. "
        "In JSON, insert text as {{ name | tojson }} so its quotes stay valid.",
    )
    body_format: Literal["json", "text"] = Field(
        "json",
        title="Body format",
        description="JSON is checked before sending. A Content-Type header, if you add one, wins.",
    )
    timeout_seconds: float = Field(
        10, gt=0, le=60, title="Time limit (seconds)", description="How long to wait for an answer."
    )
    retries: int = Field(
        0,
        ge=0,
        le=5,
        title="Retries",
        description="Tries again after a network error, a server error (5xx) or “too many requests” (429), "
        "never after other errors. Careful: retrying a request that creates something may create it twice.",
    )
    retry_delay_seconds: float = Field(
        1, ge=0, le=MAX_BACKOFF, title="First retry after (seconds)", description="Doubles with each retry."
    )
    response: list[ResponseField] = Field(
        default_factory=list, max_length=50, title="Save from the answer", description="Parts of a JSON answer to keep."
    )
    save_status_as: str | None = Field(
        None, pattern=VARIABLE_PATTERN, title="Save status code in variable", description="Such as 200 or 404."
    )
    save_body_as: str | None = Field(
        None,
        pattern=VARIABLE_PATTERN,
        title="Save whole answer in variable",
        description="The JSON answer, or its text if it is not JSON.",
    )

    def problems(self) -> list[str]:
        out = []
        for field in self.response:
            try:
                parse_path(field.path)
            except ValueError as exc:
                out.append(f"“{field.variable}”: {exc}")
        return out


# --- paths such as data.items[0].name: a tiny parser, so a flow never holds code to run ---

_KEY = re.compile(r"[^.\[\]]+")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")


def parse_path(path: str) -> tuple[str | int, ...]:
    """Split `data.items[0].name` into ("data", "items", 0, "name"); ValueError says what is wrong."""
    text = path.strip()
    text = text[1:].lstrip(".") if text.startswith("$") else text  # JSONPath habit: $.data
    parts: list[str | int] = []
    i = 0
    while i < len(text):
        if m := _INDEX.match(text, i):
            parts.append(int(m[1]))
        elif m := _KEY.match(text, i):
            parts.append(m[0].strip())
        else:
            raise ValueError(f"the path “{path}” is not valid at character {i + 1}; write it like data.items[0].name.")
        i = m.end()
        if i < len(text) and text[i] == ".":
            i += 1
            if i == len(text) or text[i] in ".[":
                raise ValueError(f"the path “{path}” has a dot with no name after it.")
        elif i < len(text) and text[i] != "[":
            raise ValueError(f"the path “{path}” is not valid at character {i + 1}; write it like data.items[0].name.")
    return tuple(parts)


def lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    """The value at `path`, or None when the answer has nothing there."""
    for part in path:
        key = int(part) if isinstance(data, list) and isinstance(part, str) and part.lstrip("-").isdigit() else part
        if isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]  # also items.0, written like a name
        elif isinstance(data, dict) and isinstance(key, str) and key in data:
            data = data[key]
        else:
            return None
    return data


# --- the request ---


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    url: str
    host: str  # for log lines and sentences: never the query, which may hold a key
    headers: list[tuple[str, str]]
    params: list[tuple[str, str]] | None  # None: the address's own query goes as typed
    content: bytes | None


class _Failed(Exception):
    """A request that did not work, with the sentence the flow sees in http_error."""


def _build(ctx: NodeContext, s: HttpRequestSettings) -> _Request:
    found = ctx.services.secrets_for
    scope = {**ctx.vars, "secrets": found(ctx.bot) if found is not None else ctx.services.secrets}
    url = render(s.url, scope).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Failed("The address does not start with http:// or https:// once filled in.")
    headers = [(h.name.strip(), render(h.value, scope)) for h in s.headers]
    # httpx replaces a URL's own query with `params`, so keep both: ?page=2 typed in the address stays.
    params = parse_qsl(parts.query, keep_blank_values=True) + [(q.name, render(q.value, scope)) for q in s.query]
    content = None
    body = render(s.body, scope) if s.method in ("POST", "PUT", "PATCH") else ""
    if body.strip():
        if s.body_format == "json":
            try:
                json.loads(body)
            except ValueError as exc:
                raise _Failed(f"The request body is not valid JSON once filled in ({exc.args[0]}).") from exc
        if not any(name.lower() == "content-type" for name, _ in headers):
            kind = "application/json" if s.body_format == "json" else "text/plain; charset=utf-8"
            headers.append(("Content-Type", kind))
        content = body.encode()
    return _Request(s.method, url, parts.hostname, headers, params if s.query else None, content)


def _retry_after(response: HttpResponse) -> float | None:
    """Seconds the server asked us to wait (Retry-After as seconds or as a date), if it said."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _status(code: int) -> str:
    try:
        return f"{code} ({HTTPStatus(code).phrase})"
    except ValueError:
        return str(code)


async def _attempt(client: HttpClient, req: _Request, timeout: float) -> HttpResponse:
    # httpx's timeout limits each read; asyncio's limits the whole exchange (a server that trickles).
    async with asyncio.timeout(timeout):
        return await client.request(
            req.method, req.url, headers=req.headers, params=req.params, content=req.content, timeout=timeout
        )


async def _send(ctx: NodeContext, client: HttpClient, req: _Request, s: HttpRequestSettings) -> HttpResponse:
    """The response to keep (status < 400), or _Failed after the retries allowed."""
    import httpx

    tries = s.retries + 1
    for n in range(1, tries + 1):
        wait = s.retry_delay_seconds * 2 ** (n - 1)
        try:
            response = await _attempt(client, req, s.timeout_seconds)
        except (TimeoutError, httpx.TimeoutException):
            problem, retry = f"{req.host} did not answer within {s.timeout_seconds:g} seconds", True
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise _Failed(f"The address for {req.host} is not valid.") from None
        except HttpRefused as exc:  # the outbound guard: a private address, an answer too large
            raise _Failed(str(exc)) from None
        except (httpx.TransportError, OSError) as exc:
            problem, retry = f"could not reach {req.host} ({type(exc).__name__})", True
        else:
            _keep_response(ctx, response, s)
            if response.status_code < 400:
                return response
            problem = f"{req.host} answered with status {_status(response.status_code)}"
            retry = response.status_code >= 500 or response.status_code == 429
            asked = _retry_after(response) if response.status_code in (429, 503) else None
            if asked is not None and asked > MAX_BACKOFF:
                problem += f" and asked to wait {asked:.0f} seconds"
                retry = False
            elif asked is not None:
                wait = max(wait, asked)
        log.info(
            "http.request %s %s failed (try %d of %d): %s",
            req.method,
            req.host,
            n,
            tries,
            problem,
            extra={"flow_id": ctx.flow_id, "node_id": ctx.node_id, "conversation_id": ctx.conversation_id},
        )
        if not retry or n == tries:
            after = f" after {n} tries" if n > 1 else ""
            raise _Failed(f"The request to {req.host} failed{after}: {problem}.")
        await asyncio.sleep(min(wait, MAX_BACKOFF))
    raise AssertionError("unreachable")  # the loop always returns or raises


def _keep_response(ctx: NodeContext, response: HttpResponse, s: HttpRequestSettings) -> None:
    """Save the status and whole body when asked: useful on errors too (an API's error message)."""
    if s.save_status_as:
        ctx.vars[s.save_status_as] = response.status_code
    if s.save_body_as:
        if len(response.text) > MAX_BODY_CHARS:
            raise _Failed(f"The answer is too large to keep in a variable ({len(response.text)} characters).")
        ok, data = _json(response)
        ctx.vars[s.save_body_as] = data if ok else response.text


def _json(response: HttpResponse) -> tuple[bool, Any]:
    try:
        return True, response.json()
    except ValueError:
        return False, None


async def run(ctx: NodeContext, settings: HttpRequestSettings) -> Step:
    scoped = ctx.services.http_for  # the guard with the private addresses the flow's workspace allows
    client = scoped(ctx.bot) if scoped is not None else ctx.services.http
    if client is None:
        raise RuntimeError("The HTTP request step cannot run: the runtime gave it no HTTP client (Services.http).")
    try:
        req = _build(ctx, settings)
        response = await _send(ctx, client, req, settings)
        if settings.response:
            ok, data = _json(response)
            if not ok:
                raise _Failed(f"The answer from {req.host} is not JSON, so nothing could be saved from it.")
            found = {f.variable: lookup(data, parse_path(f.path)) for f in settings.response}
            ctx.vars.update(found)
    except _Failed as exc:
        ctx.vars[ERROR_VARIABLE] = str(exc)
        return Step.next("error")
    ctx.vars.pop(ERROR_VARIABLE, None)  # a success must not leave an older failure behind
    return Step.next("out")


def _summary(s: HttpRequestSettings) -> str:
    return f"{s.method} {s.url}"[:120]


NODE = NodeType(
    type="http.request",
    version=1,
    title="HTTP request",
    category="Integrations",
    icon="cloud_sync",
    description="Calls a web API and keeps parts of its answer in variables.",
    settings=HttpRequestSettings,
    run=run,
    outputs=("out", "error"),
    summary=_summary,
)

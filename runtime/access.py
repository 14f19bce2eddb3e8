"""Who may do what: rights, what each role holds, a rule for every route, and the gate that checks them.

One table of rules (`Rules`) says for every address what it needs: nothing (the channel webhooks,
the web widget, the health check, the sign-in pages), a signed-in person, or a right. The gate
(`AccessGate`, pure ASGI, the outermost layer of the app) finds the rule, identifies the caller
by the session cookie or an `Authorization: Bearer` API token, and lets the request through only
with the right. An address with no rule needs a signed-in person. The builder registers its pages'
rules here and checks the same rule again when it builds a page, and before every action
(`runtime` never imports the builder).

The gate also refuses state-changing requests carried by the session cookie from another site
(the `Origin` must be this server: CSRF), limits the sign-in attempts and the widget's connections
per address, and adds the security headers to every answer.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.accounts import ROLES, Accounts, Role, User
from runtime.asgi import answer, answer_json
from runtime.audit import AuditLog
from runtime.sso import SingleSignOn, SsoConfig
from runtime.store import CONV
from runtime.workspaces import Workspaces

COOKIE = "chatloom_session"
PUBLIC = "public"  # anyone: verified by other means (a signature) or harmless
SIGNED_IN = "signed in"  # any account

RIGHTS: dict[str, str] = {
    "flows.read": "see flows, their versions and knowledge",
    "flows.edit": "build and test flows (drafts, imports, knowledge, templates)",
    "flows.publish": "publish flow versions and restore old ones",
    "channels.deploy": "deploy flows to channels and change their credentials",
    "chat": "talk to published flows through the HTTP API, in the conversations one started there",
    "conversations.read": "read conversations, transcripts and analytics",
    "conversations.write": "send messages into conversations others started (a channel's, the widget's)",
    "conversations.export": "export conversations and analytics",
    "models.read": "see the AI models and their figures",
    "models.manage": "add AI models and their API keys",
    "privacy.manage": "export or erase everything held about one person, and set retention",
    "users.manage": "add accounts, change roles and reset passwords",
    "audit.read": "read and export the audit log",
}
_VIEWER = {"flows.read"}
_EDITOR = _VIEWER | {"flows.edit", "chat", "models.read"}
_PUBLISHER = _EDITOR | {"flows.publish", "channels.deploy"}
_ANALYST = _VIEWER | {"conversations.read", "conversations.export", "models.read"}
ROLE_RIGHTS: dict[Role, frozenset[str]] = {
    "owner": frozenset(RIGHTS),
    "admin": frozenset(RIGHTS),  # everything; only an owner can make or unmake owners
    "publisher": frozenset(_PUBLISHER),
    "editor": frozenset(_EDITOR),
    "analyst": frozenset(_ANALYST),
    "viewer": frozenset(_VIEWER),
}
ROLE_WORDS: dict[Role, str] = {
    "owner": "everything, including making other owners",
    "admin": "everything but making or changing owners",
    "publisher": "build, test, publish and deploy flows",
    "editor": "build and test flows",
    "analyst": "read conversations and analytics, and export them",
    "viewer": "read flows",
}
Need = str | tuple[str, ...]  # PUBLIC, SIGNED_IN, a right, or any one of several rights
CHAT = "chat"  # on a conversation: only one the caller started through the API (Access.reaches)
API_CHANNEL = "api"  # the channel of conversations started through the HTTP API
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def rights_of(role: str) -> frozenset[str]:
    return ROLE_RIGHTS.get(role, frozenset())  # type: ignore[call-overload]


def api_account(principal: Principal) -> str:
    """The account a conversation started through the API is recorded under: the caller's own, so
    that a `chat` token reaches the conversations its account started and no other."""
    return principal.user.id


def no_conversation(conversation_id: str) -> str:
    """The answer for a conversation that does not exist or may not be used: the same words, so a
    refusal does not tell that it exists."""
    return f"There is no conversation {conversation_id!r}."


def describe(need: Need) -> str:
    """A rule in words: “publish flow versions and restore old ones”."""
    if isinstance(need, tuple):
        return " or ".join(RIGHTS[n] for n in need)
    return RIGHTS.get(need, need)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking, and what they may do: an account's session, or an API token limited to its scopes."""

    user: User
    rights: frozenset[str]
    via: Literal["session", "token"]
    token_id: str | None = None
    workspaces: frozenset[str] | None = None  # the workspaces it sees; None: all (owners, admins)

    def sees(self, workspace_id: str) -> bool:
        return self.workspaces is None or workspace_id in self.workspaces

    def may(self, need: Need) -> bool:
        if need in (PUBLIC, SIGNED_IN):
            return True
        if isinstance(need, tuple):
            return any(n in self.rights for n in need)
        return need in self.rights


@dataclass(frozen=True, slots=True)
class Rule:
    template: str  # "/api/flows/{flow_id}/conversations"; "{name:path}" matches the rest
    methods: frozenset[str]  # HTTP methods, and "WS" for a WebSocket
    need: Need
    pattern: re.Pattern[str]
    scope: str = ""  # "flow_id" or "conversation_id": the workspace of that one must be the caller's too


def _compile(template: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in re.finditer(r"\{(\w+)(:path)?\}", template):
        out.append(re.escape(template[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>{'.*' if m.group(2) else '[^/]+'})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$")


class Rules:
    """The rule of every address; the first that matches the method and path wins."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []

    def add(self, template: str, methods: Iterable[str], need: Need) -> None:
        if isinstance(need, str) and need not in (PUBLIC, SIGNED_IN) and need not in RIGHTS:
            raise ValueError(f"unknown right {need!r}")
        scope = next((s for s in SCOPES if "{" + s + "}" in template), "")
        self.rules.append(Rule(template, frozenset(methods), need, _compile(template), scope))

    def find(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if (method in rule.methods or (method == "HEAD" and "GET" in rule.methods)) and rule.pattern.match(path):
                return rule
        return None


SCOPES = ("flow_id", "conversation_id")  # path parameters whose workspace is checked
ANY = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "WS")


def runtime_rules() -> Rules:
    """The runtime's own addresses. The builder adds its pages (builder.access)."""
    rules = Rules()
    rules.add("/health", ["GET"], PUBLIC)
    rules.add("/ready", ["GET"], PUBLIC)  # a load balancer's probe carries no token
    rules.add("/hooks/{rest:path}", ANY, PUBLIC)  # each channel verifies its platform's signature
    rules.add("/widget/{rest:path}", ["GET", "WS"], PUBLIC)  # the web chat on customers' sites
    rules.add("/media/{name:path}", ["GET"], PUBLIC)  # unguessable names, fetched by the channels' apps
    rules.add("/demo/{rest:path}", ["GET"], PUBLIC)  # the example order API: made-up data
    rules.add("/login", ["GET", "POST"], PUBLIC)
    rules.add("/login/sso", ["GET"], PUBLIC)  # to the company's identity provider
    rules.add("/login/sso/callback", ["GET"], PUBLIC)  # and back, checked by state, PKCE and the ID token
    rules.add("/logout", ["POST"], PUBLIC)
    rules.add("/setup", ["GET", "POST"], PUBLIC)  # needs the code the server printed, and no owner yet
    rules.add("/favicon.ico", ["GET"], PUBLIC)
    for reference in ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"):
        rules.add(reference, ["GET"], SIGNED_IN)
    rules.add("/api/flows", ["GET"], "flows.read")
    rules.add("/api/flows/{flow_id}/conversations", ["POST"], "chat")
    # `chat` reaches only the conversations the caller started through the API (see Access.reaches)
    rules.add("/api/conversations/{conversation_id}/messages", ["POST"], (CHAT, "conversations.write"))
    rules.add("/api/conversations", ["GET"], "conversations.read")
    rules.add("/api/conversations/{conversation_id}", ["GET"], (CHAT, "conversations.read"))
    rules.add("/api/conversations/{conversation_id}/messages", ["GET"], (CHAT, "conversations.read"))
    rules.add("/api/feedback/{call_id}", ["POST"], "chat")
    rules.add("/api/bots/{flow_id}/knowledge", ["GET"], "flows.read")
    rules.add("/api/bots/{flow_id}/knowledge", ["POST"], "flows.edit")
    rules.add("/api/bots/{flow_id}/knowledge/{name}", ["DELETE"], "flows.edit")
    rules.add("/api/audit", ["GET"], "audit.read")
    rules.add("/api/privacy/export", ["POST"], "privacy.manage")
    rules.add("/api/privacy/erase", ["POST"], "privacy.manage")
    rules.add("/api/me", ["GET"], SIGNED_IN)
    return rules


class Limiter:
    """At most `count` hits per key in any `seconds`; in memory, per process."""

    def __init__(self, count: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.count, self.seconds, self.clock = count, seconds, clock
        self.hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> float:
        """0 when this hit is allowed (and counted); otherwise the seconds to wait."""
        now = self.clock()
        seen = self.hits.setdefault(key, deque())
        while seen and seen[0] <= now - self.seconds:
            seen.popleft()
        if len(seen) >= self.count:
            return float(seen[0] + self.seconds - now)
        seen.append(now)
        if len(self.hits) > 10_000:  # forget the quiet ones: memory stays bounded under a scan
            for key_ in [k for k, v in self.hits.items() if not v or v[-1] <= now - self.seconds]:
                del self.hits[key_]
        return 0.0


@dataclass
class Access:
    """Accounts, the audit log, the rules and the limits of one installation."""

    engine: Engine
    rules: Rules = field(default_factory=runtime_rules)
    public_url: str = field(default_factory=lambda: os.environ.get("CHATLOOM_PUBLIC_URL", ""))
    logins: Limiter = field(default_factory=lambda: Limiter(10, 60))  # per address
    widget: Limiter = field(default_factory=lambda: Limiter(120, 60))  # script loads and connections per address
    setup_code: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def __post_init__(self) -> None:
        self.accounts = Accounts(self.engine)
        self.audit = AuditLog(self.engine)
        self.workspaces = Workspaces(self.engine)
        config = SsoConfig.from_env()
        self.sso = SingleSignOn(config, self.accounts, self.workspaces) if config else None

    def from_session(self, token: str) -> Principal | None:
        user = self.accounts.session_user(token)
        if user is None:
            return None
        return Principal(user, rights_of(user.role), "session", None, self.workspaces.visible(user.id, user.role))

    def from_token(self, text: str) -> Principal | None:
        found = self.accounts.token_user(text)
        if found is None:
            return None
        user, token = found
        rights = rights_of(user.role) & frozenset(token.scopes)
        return Principal(user, rights, "token", token.id, self.workspaces.visible(user.id, user.role))

    def workspace_of(self, scope: str, value: str) -> str | None:
        """The workspace of a flow, or of a conversation's flow (None: no such conversation)."""
        if scope == "conversation_id":
            with self.engine.connect() as conn:
                flow_id = conn.execute(select(CONV.c.flow_id).where(CONV.c.id == value)).scalar()
            return self.workspaces.of_flow(str(flow_id)) if flow_id else None
        return self.workspaces.of_flow(value)

    def sees(self, principal: Principal, rule: Rule | None, path: str) -> bool:
        """Whether the flow the path names is in a workspace the caller sees, or the conversation it
        names is one the caller may use (see reaches)."""
        if rule is None or not rule.scope:
            return True
        matched = rule.pattern.match(path)
        if matched is None:
            return True
        if rule.scope == "conversation_id":
            return self.reaches(principal, rule.need, matched.group(rule.scope))
        if principal.workspaces is None:
            return True
        workspace = self.workspace_of(rule.scope, matched.group(rule.scope))
        return workspace is None or principal.sees(workspace)

    def reaches(self, principal: Principal, need: Need, conversation_id: str) -> bool:
        """Whether the caller may use this conversation under a rule that needs `need`: any in their
        workspaces with a right the rule names beside `chat` (conversations.read, .write); with `chat`
        only those their account started through the API. False when it does not exist: the caller
        is answered the same either way. Channel and widget conversations are never a `chat` token's,
        whatever their id."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(CONV.c.flow_id, CONV.c.channel, CONV.c.account).where(CONV.c.id == conversation_id)
            ).first()
        if found is None or not principal.sees(self.workspaces.of_flow(str(found.flow_id))):
            return False
        needs = need if isinstance(need, tuple) else (need,)
        if any(principal.may(n) for n in needs if n != CHAT):
            return True
        started = found.channel == API_CHANNEL and found.account == api_account(principal)
        return CHAT in needs and principal.may(CHAT) and started

    def setup_open(self, code: str) -> bool:
        return not self.accounts.has_owner() and hmac.compare_digest(code.encode(), self.setup_code.encode())

    def secure_cookies(self, scope: Scope) -> bool:
        return scope.get("scheme") in ("https", "wss") or self.public_url.startswith("https://")


def cookie_header(token: str, *, secure: bool, max_age: int) -> bytes:
    parts = [f"{COOKIE}={token}", "Path=/", "HttpOnly", "SameSite=Lax", f"Max-Age={max_age}"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode()


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", ())}


def read_cookie(scope: Scope, name: str = COOKIE) -> str:
    raw = _headers(scope).get(b"cookie", b"").decode("latin-1")
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def same_origin(scope: Scope, public_url: str = "") -> bool:
    """The request came from a page of this server: its Origin (or, lacking one, its Referer) names this host."""
    headers = _headers(scope)
    origin = headers.get(b"origin") or headers.get(b"referer")
    if not origin:
        return False
    parts = urlsplit(origin.decode("latin-1"))
    allowed = {headers.get(b"host", b"").decode("latin-1")}
    if public_url:
        allowed.add(urlsplit(public_url).netloc)
    return bool(parts.netloc) and parts.netloc in allowed


CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
# FastAPI's API reference pages load Swagger UI and ReDoc from their CDN
CSP_REFERENCE = (
    CSP.replace("script-src 'self'", "script-src 'self' https://cdn.jsdelivr.net")
    .replace("style-src 'self'", "style-src 'self' https://cdn.jsdelivr.net")
    .replace("img-src 'self'", "img-src 'self' https://fastapi.tiangolo.com https://cdn.redoc.ly")
)
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), geolocation=(), microphone=(self)"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class AccessGate:
    """Pure ASGI: every HTTP request and WebSocket passes here first (see the module's words)."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        path: str = scope.get("path", "")
        if kind not in ("http", "websocket") or path.startswith("/hooks/"):
            # the webhooks are open (each verified by its platform's signature) and answer machines: no
            # rule to look up, no browser headers to add; the busiest address pays nothing here
            await self.app(scope, receive, send)
            return
        method = "WS" if kind == "websocket" else scope["method"]
        rule = self.access.rules.find(method, path)
        need: Need = rule.need if rule else SIGNED_IN
        secure = self.access.secure_cookies(scope)
        send = _with_headers(send, secure, path) if kind == "http" else send
        address = client_address(scope)
        if need == PUBLIC:
            if path.startswith("/widget/") and (wait := self.access.widget.hit(address)):
                await _refuse(
                    scope, receive, send, 429, "Too many requests from your address; wait a minute.", retry_after=wait
                )
                return
            await self.app(scope, receive, send)
            return
        principal, problem = self._identify(scope)
        if principal is None:
            if kind == "http" and method in SAFE_METHODS and _wants_html(scope):
                target = path + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
                await _redirect(send, "/login?next=" + quote(target, safe="/"))
                return
            await _refuse(scope, receive, send, 401, problem)
            return
        if principal.via == "session" and method not in SAFE_METHODS and not same_origin(scope, self.access.public_url):
            await _refuse(scope, receive, send, 403, "This request came from another site; it was refused (CSRF).")
            return
        if not principal.may(need):
            await _refuse(scope, receive, send, 403, refusal(principal, need))
            return
        if not self.access.sees(principal, rule, path):  # in a workspace it is not a member of: as if absent
            if rule is not None and rule.scope == "conversation_id":
                matched = rule.pattern.match(path)
                detail = no_conversation(matched.group(rule.scope) if matched else "")
            else:
                detail = "There is no such flow in your workspaces."
            await _refuse(scope, receive, send, 404, detail)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _identify(self, scope: Scope) -> tuple[Principal | None, str]:
        authorization = _headers(scope).get(b"authorization", b"").decode("latin-1")
        if authorization:
            scheme, _, text = authorization.partition(" ")
            if scheme.lower() != "bearer" or not text.strip():
                return None, "Send the API token as: Authorization: Bearer <token>."
            principal = self.access.from_token(text.strip())
            return principal, "This API token is not valid: it was revoked, mistyped, or its account is disabled."
        cookie = read_cookie(scope)
        if cookie:
            principal = self.access.from_session(cookie)
            return principal, "Your session has ended; sign in again."
        return None, "Sign in first, or send an API token: Authorization: Bearer <token>."


def _wants_html(scope: Scope) -> bool:
    return b"text/html" in _headers(scope).get(b"accept", b"")


def _with_headers(send: Send, secure: bool, path: str) -> Send:
    policy = (CSP_REFERENCE if path in ("/docs", "/redoc") else CSP).encode()

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {k.lower() for k, _ in headers}
            extra = [(k, v) for k, v in _ALWAYS if k not in present]
            content_type = dict(headers).get(b"content-type", b"")
            if content_type.startswith(b"text/html") and b"content-security-policy" not in present:
                extra.append((b"content-security-policy", policy))
            if secure:
                extra.append((b"strict-transport-security", b"max-age=31536000"))
            message = {**message, "headers": headers + extra}
        await send(message)

    return sending


async def _redirect(send: Send, location: str) -> None:
    await send({"type": "http.response.start", "status": 303, "headers": [(b"location", location.encode())]})
    await send({"type": "http.response.body", "body": b""})


def refusal(principal: Principal, need: Need) -> str:
    """Why a signed-in caller may not: “Your role (viewer) may not publish flow versions…”."""
    if principal.via == "token":
        return f"This API token may not {describe(need)}: it lacks that right, or its account's role does."
    return f"Your role ({principal.user.role}) may not {describe(need)}."


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, *, retry_after: float = 0.0
) -> None:
    if scope["type"] == "websocket":
        # closing before accepting: the client sees the handshake refused (403)
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.close", "code": 4000 + status, "reason": detail[:120]})
        return
    if retry_after:
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"retry-after", str(int(retry_after) + 1).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    if status == 401:
        await answer_json(send, 401, {"detail": detail})
        return
    await answer(send, status, detail)


def matrix_markdown(rules: Rules) -> str:
    """The permission matrix as docs/permissions.md shows it: rights by role, then every address's rule."""
    lines = ["| right | " + " | ".join(ROLES) + " |", "|---|" + "---|" * len(ROLES)]
    for right, words in RIGHTS.items():
        marks = " | ".join("✓" if right in ROLE_RIGHTS[role] else "" for role in ROLES)
        lines.append(f"| `{right}`: {words} | {marks} |")
    lines += ["", "| address | methods | needs |", "|---|---|---|"]
    for rule in rules.rules:
        need = rule.need if isinstance(rule.need, str) else " or ".join(rule.need)
        shown = {PUBLIC: "anyone", SIGNED_IN: "any signed-in account"}.get(need, f"`{need}`")
        methods = ", ".join(sorted(m for m in rule.methods if m != "HEAD"))
        lines.append(f"| `{rule.template}` | {methods} | {shown} |")
    return "\n".join(lines) + "\n"

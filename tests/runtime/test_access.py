"""Access control over HTTP: every API route for every role, sessions and tokens, CSRF, headers, limits.

The matrix is walked from the gate's own table, so a rule changed there is tested here; and a route
added anywhere without a rule fails test_every_route_has_a_rule.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.routing import BaseRoute, Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles

from flows.document import flow_from_data
from nodes.registry import Registry
from runtime.access import COOKIE, PUBLIC, RIGHTS, ROLE_RIGHTS, SIGNED_IN, Access, Principal
from runtime.accounts import ROLES, SESSION_SECONDS
from runtime.api import create_app
from runtime.audit import AuditLog
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from tests.access import OWNER, PASSWORD, account, api_headers, sign_in
from tests.runtime.test_accounts import Clock

FLOW = {
    "id": "hello",
    "name": "Hello",
    "start": "s",
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {"id": "ask", "type": "input.text", "settings": {"prompt": "Your name?", "save_as": "name"}},
    ],
    "edges": [{"id": "e1", "source": "s", "target": "ask"}],
}
BASE = "http://chatloom.test"


@pytest.fixture
def runtime(engine: Engine, builtins: Registry) -> Runtime:
    rt = Runtime(engine, builtins)
    rt.flows.save_draft(flow_from_data(FLOW))
    rt.flows.publish("hello", builtins)
    return rt


@pytest.fixture
async def app(runtime: Runtime) -> AsyncIterator[FastAPI]:
    channels = Channels(runtime, ChannelStore(runtime.engine, SecretBox(Fernet.generate_key())))
    made = create_app(runtime, channels)
    async with made.router.lifespan_context(made):
        yield made


def client(app: FastAPI, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=headers)


def _sample(template: str, cid: str) -> str:
    return (
        template.replace("{flow_id}", "hello")
        .replace("{conversation_id}", cid)
        .replace("{call_id}", "no-such-call")
        .replace("{name}", "nothing.txt")
    )


BODIES: dict[str, Any] = {
    "/api/flows/{flow_id}/conversations": {},
    "/api/conversations/{conversation_id}/messages": {"text": "Ann"},
    "/api/feedback/{call_id}": {"score": 1},
    "/api/privacy/export": {"user_id": "nobody"},
    "/api/privacy/erase": {"user_id": "nobody", "confirm": True},
}


def api_routes(access: Access) -> list[tuple[str, str, Any]]:
    """(method, path template, rule) of every API route in the gate's table."""
    return [
        (method, rule.template, rule.need)
        for rule in access.rules.rules
        if rule.template.startswith("/api/")
        for method in sorted(rule.methods)
    ]


async def test_every_api_route_for_every_role(app: FastAPI, runtime: Runtime) -> None:
    access: Access = app.state.access
    cid, _ = await runtime.start("hello", user_id="someone")
    routes = api_routes(access)
    assert len(routes) >= 13
    anonymous = client(app)
    for role in ROLES:
        async with client(app, **api_headers(app, role=role)) as http:
            for method, template, need in routes:
                path = _sample(template, cid)
                kwargs = {"json": BODIES[template]} if template in BODIES else {}
                r = await http.request(method, path, **kwargs)
                held = Principal(account(access, role), ROLE_RIGHTS[role], "token").may(need)
                where = f"{role} {method} {path}: {r.status_code} {r.text[:200]}"
                if held:
                    assert r.status_code not in (401, 403), where
                else:
                    assert r.status_code == 403, where
                    assert role in r.text or "token" in r.text  # says why, in words
                nobody = await anonymous.request(method, path, **kwargs)
                assert nobody.status_code == 401, f"anonymous {method} {path}: {nobody.status_code}"
    await anonymous.aclose()


def test_the_matrix_is_the_issue_s() -> None:
    """The roles as the issue names them: editors build and test, publishers also publish and
    deploy, analysts read conversations and analytics and export, viewers read flows."""
    assert ROLE_RIGHTS["viewer"] == {"flows.read"}
    assert {"flows.edit", "chat"} <= ROLE_RIGHTS["editor"] and "flows.publish" not in ROLE_RIGHTS["editor"]
    assert ROLE_RIGHTS["publisher"] - ROLE_RIGHTS["editor"] == {"flows.publish", "channels.deploy"}
    assert {"conversations.read", "conversations.export"} <= ROLE_RIGHTS["analyst"]
    assert "flows.edit" not in ROLE_RIGHTS["analyst"] and "conversations.read" not in ROLE_RIGHTS["editor"]
    assert ROLE_RIGHTS["owner"] == ROLE_RIGHTS["admin"] == set(RIGHTS)


def _routes(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route, inside mounts too."""
    found: list[tuple[str, str]] = []
    for route in routes:
        path = prefix + getattr(route, "path", "")
        included = getattr(route, "original_router", None)  # FastAPI's include_router, unexpanded
        if included is not None:
            found += _routes(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if inner is None:  # an ASGI app of its own (files; socket.io): what it answers
                found.append(("GET", path.rstrip("/") + "/x"))
                if not isinstance(route.app, StaticFiles):
                    found.append(("WS", path.rstrip("/") + "/x"))
            else:
                found += _routes(inner, path)
        elif isinstance(route, WebSocketRoute):
            found.append(("WS", path))
        else:
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                found.append((method, path))
    return found


def test_every_route_has_a_rule(runtime: Runtime, tmp_path: Any) -> None:
    """The whole app as `chatloom run` builds it (runtime, channels, builder): no route without a rule."""
    from nicegui.testing.general import nicegui_reset_globals

    from builder.app import mount

    with nicegui_reset_globals():
        channels = Channels(runtime, ChannelStore(runtime.engine, SecretBox(Fernet.generate_key())))
        app = create_app(runtime, channels)
        mount(app, runtime, tmp_path, channels)
        access: Access = app.state.access
        from nicegui import core

        routes = _routes(app.routes) + _routes(core.app.routes)
    assert len(routes) > 40
    paths = {path for _, path in routes}
    assert {"/", "/flows/{flow_id}", "/users", "/audit", "/privacy", "/account", "/hooks/{channel}/{account}"} <= paths
    missing = []
    for method, path in routes:
        sample = path.replace("{", "").replace("}", "").replace(":path", "")
        if access.rules.find(method, sample) is None:
            missing.append(f"{method} {path}")
    assert not missing, f"routes without an access rule (add one in runtime/access.py or builder/access.py): {missing}"


async def test_only_the_channels_widget_health_and_sign_in_are_open(app: FastAPI) -> None:
    access: Access = app.state.access
    open_ = {rule.template for rule in access.rules.rules if rule.need == PUBLIC}
    assert open_ == {
        "/health",
        "/ready",
        "/hooks/{rest:path}",
        "/widget/{rest:path}",
        "/media/{name:path}",
        "/demo/{rest:path}",
        "/login",
        "/login/sso",
        "/login/sso/callback",
        "/logout",
        "/setup",
        "/favicon.ico",
    }
    async with client(app) as http:
        assert (await http.get("/health")).status_code == 200
        assert (await http.get("/docs")).status_code == 401
        assert (await http.get("/openapi.json")).status_code == 401
        page = await http.get("/anything/else", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/anything/else"


# sessions


async def _login(http: httpx.AsyncClient, email: str = OWNER, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/login", data={"email": email, "password": password, "next": "/flows/x"})


async def test_sign_in_use_and_sign_out(app: FastAPI) -> None:
    access: Access = app.state.access
    account(access)
    async with client(app, origin=BASE) as http:
        assert "Sign in to Chatloom" in (await http.get("/login")).text
        r = await _login(http)
        assert r.status_code == 303 and r.headers["location"] == "/flows/x"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain http here
        me = await http.get("/api/me")
        assert me.json()["email"] == OWNER and me.json()["via"] == "session"
        token = http.cookies[COOKIE]
        assert token not in json.dumps([e.to_json() for e in access.audit.entries()])  # never written down
        with access.engine.connect() as conn:  # only its hash is kept
            assert token not in str(conn.execute(text("SELECT * FROM sessions")).all())
        assert (await http.post("/logout")).status_code == 303
        http.cookies.set(COOKIE, token)  # replayed after signing out
        assert (await http.get("/api/me")).status_code == 401
    assert [e.action for e in access.audit.entries(actor=OWNER)][:2] == ["logout", "login"]


async def test_https_cookies_are_secure_and_strict_transport_is_asked(app: FastAPI) -> None:
    account(app.state.access)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://chatloom.test",
        headers={"origin": "https://chatloom.test"},
    ) as http:
        r = await _login(http)
        assert "Secure" in r.headers["set-cookie"]
        assert r.headers["strict-transport-security"] == "max-age=31536000"


async def test_forged_expired_and_revoked_sessions_are_refused(app: FastAPI, runtime: Runtime) -> None:
    clock = Clock()
    app.state.access.accounts.clock = clock  # the gate's accounts: the same database, this clock
    async with client(app) as http:
        user = sign_in(http, app.state.access)
        assert (await http.get("/api/me")).status_code == 200
        http.cookies.set(COOKIE, "forged" + http.cookies[COOKIE][6:])
        r = await http.get("/api/me")
        assert r.status_code == 401 and r.json()["detail"] == "Your session has ended; sign in again."
        sign_in(http, app.state.access)
        clock.now += SESSION_SECONDS + 1
        assert (await http.get("/api/me")).status_code == 401  # expired
        clock.now = 1_000_000.0
        sign_in(http, app.state.access)
        app.state.access.accounts.reset_password(user.id, "another long password")  # an admin's reset
        assert (await http.get("/api/me")).status_code == 401
        sign_in(http, app.state.access)
        app.state.access.accounts.set_disabled(account(app.state.access, "viewer").id, True)  # another account
        assert (await http.get("/api/me")).status_code == 200


async def test_wrong_passwords_are_refused_alike_then_locked_and_recorded(app: FastAPI) -> None:
    access: Access = app.state.access
    account(access)
    async with client(app, origin=BASE) as http:
        unknown = await _login(http, "nobody@chatloom.test", "whatever it is")
        wrong = await _login(http, OWNER, "not the password")
        assert unknown.status_code == wrong.status_code == 401
        assert "That email and password do not match an account." in unknown.text
        assert "That email and password do not match an account." in wrong.text
        for _ in range(4):
            await _login(http, OWNER, "not the password")
        locked = await _login(http)  # the right password, during the lockout: the same answer as a wrong one
        assert locked.status_code == 401 and locked.text == wrong.text
    actions = [e.action for e in access.audit.entries()]
    assert actions.count("login.failed") == 6 and actions[0] == "login.locked"  # the unknown account's too
    assert access.audit.entries(action="login")[-1].actor == "unknown account"  # a typed email is not kept


async def test_sign_in_attempts_are_limited_per_address(app: FastAPI) -> None:
    account(app.state.access)
    async with client(app, origin=BASE) as http:
        statuses = [(await _login(http, f"x{n}@chatloom.test", "nope nope nope")).status_code for n in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]


async def test_the_widget_is_limited_per_address(app: FastAPI) -> None:
    app.state.access.widget.count = 3
    async with client(app) as http:
        statuses = [(await http.get("/widget/nowhere.js")).status_code for _ in range(5)]
    assert statuses == [404, 404, 404, 429, 429]


# CSRF


async def test_state_changes_carried_by_the_cookie_must_come_from_this_server(app: FastAPI) -> None:
    async with client(app) as http:
        sign_in(http, app.state.access)
        body = {"user_id": "nobody"}
        r = await http.post("/api/privacy/export", json=body, headers={"origin": "https://evil.example"})
        assert r.status_code == 403 and "another site" in r.json()["detail"]
        assert (await http.post("/api/privacy/export", json=body)).status_code == 403  # no Origin at all
        assert (await http.post("/api/privacy/export", json=body, headers={"origin": BASE})).status_code == 404
        assert (await http.get("/api/me", headers={"origin": "https://evil.example"})).status_code == 200  # reading
    async with client(app, **api_headers(app)) as http:  # a token is not ambient: no Origin needed
        assert (await http.post("/api/privacy/export", json={"user_id": "nobody"})).status_code == 404
    async with client(app, origin="https://evil.example") as http:  # signing someone in from elsewhere
        account(app.state.access)
        assert (await _login(http)).status_code == 403


# tokens


async def test_tokens_are_scoped_revocable_and_record_their_last_use(app: FastAPI) -> None:
    access: Access = app.state.access
    owner = account(access)
    token, text_ = access.accounts.create_token(owner.id, "sync", ["chat"])
    async with client(app, authorization=f"Bearer {text_}") as http:
        assert (await http.post("/api/flows/hello/conversations", json={})).status_code == 201
        r = await http.get("/api/audit")
        assert r.status_code == 403 and "API token" in r.json()["detail"]  # an owner's token, without that scope
        assert access.accounts.tokens(owner.id)[0].last_used_at is not None
        with access.engine.connect() as conn:
            assert text_ not in str(conn.execute(text("SELECT * FROM api_tokens")).all())
        assert access.accounts.revoke_token(token.id)
        assert (await http.post("/api/flows/hello/conversations", json={})).status_code == 401
    async with client(app, authorization="Bearer clt_00000000_forged") as http:
        assert (await http.get("/api/flows")).status_code == 401
    async with client(app, authorization="Basic b3duZXI6cHc=") as http:
        r = await http.get("/api/flows")
        assert r.status_code == 401 and "Bearer" in r.json()["detail"]


async def test_a_token_never_holds_more_than_its_account_s_role(app: FastAPI) -> None:
    access: Access = app.state.access
    editor = account(access, "editor")
    _, text_ = access.accounts.create_token(editor.id, "too much", ["audit.read", "chat"])
    async with client(app, authorization=f"Bearer {text_}") as http:
        assert (await http.get("/api/audit")).status_code == 403
        access.accounts.set_role(editor.id, "admin")  # the role grows: so does the token, up to its scopes
        assert (await http.get("/api/audit")).status_code == 200
        access.accounts.set_disabled(editor.id, True)
        assert (await http.get("/api/audit")).status_code == 401


# headers and errors


async def test_security_headers_on_every_answer(app: FastAPI) -> None:
    async with client(app) as http:
        for r in (await http.get("/health"), await http.get("/login"), await http.get("/api/flows")):
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "same-origin"
        page = await http.get("/login")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "cdn.jsdelivr.net" not in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in page.headers  # plain http: nothing to pin


# the audit log


def test_the_audit_log_is_append_only(engine: Engine) -> None:
    log = AuditLog(engine)
    log.record("a@b.c", "login", address="127.0.0.1")
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert [e.actor for e in log.entries()] == ["a@b.c"]


async def test_the_audit_log_is_read_filtered_and_exported(app: FastAPI) -> None:
    access: Access = app.state.access
    access.audit.record("a@chatloom.test", "flow.publish", "hello", {"version": 2})
    access.audit.record("b@chatloom.test", "login")
    async with client(app, **api_headers(app)) as http:
        r = await http.get("/api/audit", params={"action": "flow"})
        assert [(e["actor"], e["target"], e["detail"]) for e in r.json()["entries"]] == [
            ("a@chatloom.test", "hello", {"version": 2})
        ]
        csv = await http.get("/api/audit", params={"format": "csv", "actor": "b@chatloom.test"})
        assert csv.headers["content-type"].startswith("text/csv") and "attachment" in csv.headers["content-disposition"]
        assert csv.text.splitlines()[1].split(",")[2:4] == ["b@chatloom.test", "login"]
        bad = await http.get("/api/audit", params={"limit": 0})
        assert bad.status_code == 422 and "limit" in bad.json()["detail"]
    assert access.audit.entries()[0].action == "audit.export"  # reading the log is itself recorded


async def test_an_erasure_over_http_is_recorded_without_whom_it_was_about(app: FastAPI, runtime: Runtime) -> None:
    cid, _ = await runtime.start("hello", user_id="tg-4242")
    async with client(app, **api_headers(app)) as http:
        r = await http.post("/api/privacy/erase", json={"user_id": "tg-4242"})
        assert r.status_code == 400 and "confirm" in r.json()["detail"]
        exported = await http.post("/api/privacy/export", json={"user_id": "tg-4242"})
        assert exported.json()["conversations"][0]["id"] == cid
        r = await http.post("/api/privacy/erase", json={"user_id": "tg-4242", "confirm": True})
        assert r.status_code == 200 and r.json()["erased"]["conversations"] == 1
        assert (await http.post("/api/privacy/export", json={"user_id": "tg-4242"})).status_code == 404
    entries = app.state.access.audit.entries(action="privacy")
    assert [e.action for e in entries] == ["privacy.erase", "privacy.export"]
    assert "tg-4242" not in json.dumps([e.to_json() for e in entries]) and cid not in json.dumps(
        [e.to_json() for e in entries]
    )


def test_every_right_is_named_in_words() -> None:
    assert all(RIGHTS[r] for r in RIGHTS) and SIGNED_IN not in RIGHTS


def test_the_written_matrix_is_the_enforced_one() -> None:
    from pathlib import Path

    from builder.access import written_matrix

    written = (Path(__file__).resolve().parents[2] / "docs" / "permissions.md").read_text()
    between = written.split("<!-- matrix -->\n", 1)[1].split("<!-- /matrix -->", 1)[0]
    assert between == written_matrix(), "docs/permissions.md is out of date: run `python -m builder.access`"

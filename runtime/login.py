"""Signing in and out, the first-run set-up, and the account API (who am I, the audit log).

The sign-in and set-up pages are plain HTML forms served by the runtime, so they work before any
builder page is reachable and need no script. Their POSTs are checked for coming from this server
(the `Origin`) and limited per address. A refused sign-in gets one answer (status, words, headers)
whether the email has no account, the password is wrong, or the client must wait (runtime.lockout).
"""

from __future__ import annotations

import hmac
import html
import time
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response

from runtime.access import COOKIE, Access, Principal, client_address, cookie_header, read_cookie, same_origin
from runtime.accounts import SESSION_SECONDS, AccountError, LoginRefused
from runtime.api_models import Problem
from runtime.audit import as_csv
from runtime.lockout import DEVICE_SECONDS
from runtime.sso import SsoRefused

MAX_FORM = 4096
SSO_COOKIE = "chatloom_sso"
DEVICE_COOKIE = "chatloom_device"  # a browser that signed in here before (runtime.lockout); sent to /login only


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)} · Chatloom</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f5f5f7;margin:0;display:flex;min-height:100vh;
align-items:center;justify-content:center;color:#1d1d1f}}
main{{background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 12px #0001;width:min(22rem,90vw)}}
h1{{font-size:1.4rem;margin:0 0 1rem}} label{{display:block;margin:.8rem 0 .2rem;font-size:.9rem}}
input{{width:100%;box-sizing:border-box;padding:.55rem;border:1px solid #bbb;border-radius:6px;font-size:1rem}}
button{{margin-top:1.2rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#5b3cc4;color:#fff;
font-size:1rem;cursor:pointer}} a.sso{{display:block;text-align:center;padding:.6rem;border:1px solid #5b3cc4;
border-radius:6px;color:#5b3cc4;text-decoration:none}} .error{{color:#b00020;margin:.5rem 0}} p{{line-height:1.4}}
</style></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"""
    return HTMLResponse(document, status_code=status, headers={"cache-control": "no-store"})


def _safe_next(target: str) -> str:
    """Only a path on this server: never `//elsewhere` or a full address (an open redirect)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _login_form(next_url: str, error: str = "", email: str = "", sso: str = "") -> str:
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    button = (
        f'<p><a class="sso" href="/login/sso?next={quote(next_url, safe="/")}">Sign in with {html.escape(sso)}</a></p>'
        '<p style="text-align:center;color:#666">or with your password</p>'
        if sso
        else ""
    )
    return f"""{problem}{button}<form method="post" action="/login">
<input type="hidden" name="next" value="{html.escape(next_url)}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required
 value="{html.escape(email)}" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password"
 autocomplete="current-password" required>
<button type="submit">Sign in</button></form>"""


def _setup_form(code: str, error: str = "", email: str = "", name: str = "") -> str:
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<p>Create the owner account: it holds every right and adds the other accounts.</p>{problem}
<form method="post" action="/setup"><input type="hidden" name="code" value="{html.escape(code)}">
<label for="name">Your name</label><input id="name" name="name" autocomplete="name" value="{html.escape(name)}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required
 value="{html.escape(email)}">
<label for="password">Password (12 characters or more)</label><input id="password" name="password"
 type="password" autocomplete="new-password" minlength="12" required>
<label for="again">The same password again</label><input id="again" name="again" type="password"
 autocomplete="new-password" required>
<button type="submit">Create the owner account</button></form>"""


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items() if values}


def _signed_in(access: Access, request: Request, token: str, target: str) -> RedirectResponse:
    response = RedirectResponse(_safe_next(target), status_code=303)
    secure = access.secure_cookies(request.scope)
    response.headers.append("set-cookie", cookie_header(token, secure=secure, max_age=SESSION_SECONDS).decode())
    return response


def _known_from_now(access: Access, request: Request, response: Response, user_id: str) -> None:
    """Give the browser that just signed in with its password a known-device cookie (runtime.lockout)."""
    secure = "; Secure" if access.secure_cookies(request.scope) else ""
    token = access.accounts.remember_device(user_id)
    response.headers.append(
        "set-cookie",
        f"{DEVICE_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age={DEVICE_SECONDS}{secure}",
    )


def _sso_name(access: Access) -> str:
    return access.sso.config.name if access.sso else ""


def _callback(access: Access, request: Request) -> str:
    """The address the provider sends the browser back to (registered with the provider)."""
    return (access.public_url or str(request.base_url)).rstrip("/") + "/login/sso/callback"


def login_routes(access: Access) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    other_site = "This form came from another site; open the sign-in page of this server and try again."

    @router.get("/login")
    async def login_page(next: str = "/") -> Response:
        if not access.accounts.has_owner():
            return _page(
                "Set up Chatloom",
                "<p>This server has no owner account yet. Open the set-up link the server printed when it "
                "started, or run <code>chatloom users create-owner --email you@example.com</code>.</p>",
            )
        return _page("Sign in to Chatloom", _login_form(_safe_next(next), sso=_sso_name(access)))

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not same_origin(request.scope, access.public_url):
            return _page("Sign in to Chatloom", f'<p class="error">{other_site}</p>', 403)
        address = client_address(request.scope)
        wait = access.logins.hit(address)
        form = await _form(request)
        email, target = form.get("email", "")[:254], _safe_next(form.get("next", "/"))
        if wait:
            body = _login_form(
                target, "Too many sign-in attempts from your address; wait a minute.", email, _sso_name(access)
            )
            return _page("Sign in to Chatloom", body, 429)
        device = read_cookie(request.scope, DEVICE_COOKIE)
        try:
            user, token = access.accounts.login(email, form.get("password", ""), address=address, device=device)
        except LoginRefused as exc:
            known = access.accounts.by_email(email)
            access.audit.record(
                known.email if known else "unknown account",
                "login.locked" if exc.retry_after else "login.failed",
                detail={"retry_after": round(exc.retry_after)} if exc.retry_after else None,
                address=address,
            )
            # one answer for unknown, wrong and waiting (no Retry-After): which it was is the secret
            return _page("Sign in to Chatloom", _login_form(target, str(exc), email, _sso_name(access)), 401)
        access.audit.record(user.email, "login", address=address)
        response = _signed_in(access, request, token, target)
        if not access.accounts.knows_device(user.id, device):
            _known_from_now(access, request, response, user.id)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if not same_origin(request.scope, access.public_url):
            return _page("Sign out", f'<p class="error">{other_site}</p>', 403)
        token = read_cookie(request.scope)
        user = access.accounts.session_user(token) if token else None
        if user is not None:
            access.accounts.logout(token)
            access.audit.record(user.email, "logout", address=client_address(request.scope))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @router.get("/setup")
    async def setup_page(code: str = "") -> Response:
        if access.accounts.has_owner():
            return RedirectResponse("/login", status_code=303)
        if not access.setup_open(code):
            return _page("Set up Chatloom", "<p>This set-up link is not right. Use the one the server printed when "
                         "it started, or run <code>chatloom users create-owner</code>.</p>", 403)  # fmt: skip
        return _page("Set up Chatloom", _setup_form(code))

    @router.post("/setup")
    async def setup(request: Request) -> Response:
        if not same_origin(request.scope, access.public_url):
            return _page("Set up Chatloom", f'<p class="error">{other_site}</p>', 403)
        if access.logins.hit(client_address(request.scope)):
            return _page(
                "Set up Chatloom", '<p class="error">Too many attempts from your address; wait a minute.</p>', 429
            )
        form = await _form(request)
        code = form.get("code", "")
        if access.accounts.has_owner():
            return RedirectResponse("/login", status_code=303)
        if not access.setup_open(code):
            return _page("Set up Chatloom", "<p>This set-up link is not right.</p>", 403)
        email, name, password = form.get("email", ""), form.get("name", ""), form.get("password", "")
        if password != form.get("again", ""):
            return _page("Set up Chatloom", _setup_form(code, "The two passwords differ.", email, name), 400)
        try:
            user = access.accounts.create_owner(email, password, name)
        except AccountError as exc:
            return _page("Set up Chatloom", _setup_form(code, str(exc), email, name), 400)
        address = client_address(request.scope)
        access.audit.record(user.email, "account.create_owner", user.email, address=address)
        access.audit.record(user.email, "login", address=address)
        return _signed_in(access, request, access.accounts.open_session(user.id), "/")

    return router


def sso_routes(access: Access) -> APIRouter:
    """Single sign-on: to the company's identity provider and back (runtime.sso)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/login/sso")
    async def sso_start(request: Request, next: str = "/") -> Response:
        if access.sso is None:
            return _page("Sign in to Chatloom", "<p>Single sign-on is not set up on this server.</p>", 404)
        try:
            url, state = await access.sso.begin(_callback(access, request), _safe_next(next))
        except SsoRefused as exc:
            return _page("Sign in to Chatloom", _login_form("/", str(exc), sso=_sso_name(access)), 502)
        response = RedirectResponse(url, status_code=303)
        secure = "; Secure" if access.secure_cookies(request.scope) else ""
        response.headers.append(
            "set-cookie", f"{SSO_COOKIE}={state}; Path=/login/sso; HttpOnly; SameSite=Lax; Max-Age=600{secure}"
        )
        return response

    @router.get("/login/sso/callback")
    async def sso_back(request: Request, state: str = "", code: str = "", error: str = "") -> Response:
        def refused(words: str, status: int) -> Response:
            page = _page("Sign in to Chatloom", _login_form("/", words, sso=_sso_name(access)), status)
            page.delete_cookie(SSO_COOKIE, path="/login/sso")
            return page

        if access.sso is None:
            return refused("Single sign-on is not set up on this server.", 404)
        if error:
            return refused(f"The sign-in provider did not sign you in ({error[:80]}).", 401)
        started = read_cookie(request.scope, SSO_COOKIE)
        if not state or not started or not hmac.compare_digest(state.encode(), started.encode()):
            return refused("This sign-in was not started in this browser; sign in again.", 400)
        address = client_address(request.scope)
        try:
            user, target, made = await access.sso.finish(state, code, _callback(access, request))
        except SsoRefused as exc:
            access.audit.record("unknown account", "login.sso_failed", detail={"reason": str(exc)}, address=address)
            return refused(str(exc), 401)
        if made:
            access.audit.record("single sign-on", "account.create", user.email, {"role": user.role}, address)
        access.audit.record(user.email, "login.sso", address=address)
        response = _signed_in(access, request, access.accounts.open_session(user.id), target)
        response.delete_cookie(SSO_COOKIE, path="/login/sso")
        return response

    return router


def account_routes(access: Access) -> APIRouter:
    router = APIRouter(tags=["account"])

    @router.get("/api/me")
    async def me(request: Request) -> dict[str, Any]:
        """Who the request is from, and what it may do."""
        principal: Principal = request.state.principal
        return {
            "email": principal.user.email,
            "name": principal.user.name,
            "role": principal.user.role,
            "via": principal.via,
            "rights": sorted(principal.rights),
        }

    @router.get("/api/audit", responses={422: {"model": Problem}})
    async def audit(
        request: Request,
        *,
        actor: str | None = Query(None, max_length=254),
        action: str | None = Query(None, max_length=64),
        since: float | None = Query(None, ge=0, description="Unix time: only entries at or after it."),
        until: float | None = Query(None, ge=0, description="Unix time: only entries before it."),
        limit: int = Query(200, ge=1, le=10_000),
        format: str = Query("json", pattern="^(json|csv)$"),
    ) -> Response:
        """The audit log, newest first, filtered; as JSON or CSV. Reading it is itself recorded."""
        principal: Principal = request.state.principal
        entries = access.audit.entries(actor=actor, action=action, since=since, until=until, limit=limit)
        access.audit.record(
            principal.user.email,
            "audit.export",
            detail={"entries": len(entries), "format": format},
            address=client_address(request.scope),
        )
        if format == "csv":
            name = time.strftime("audit-%Y%m%d-%H%M%S.csv", time.gmtime())
            headers = {"content-disposition": f'attachment; filename="{name}"'}
            return PlainTextResponse(as_csv(entries), media_type="text/csv", headers=headers)
        return JSONResponse({"entries": [e.to_json() for e in entries]})

    return router

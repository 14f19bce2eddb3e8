"""Single sign-on against a local OpenID Connect provider (tests/fakes/oidc.py): the whole round
trip, accounts matched by verified email, and every forged or replayed answer refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from nodes.registry import Registry
from runtime.access import COOKIE, Access
from runtime.api import create_app
from runtime.engine import Runtime
from tests.access import account
from tests.fakes.oidc import FakeOidc
from tests.fakes.server import running

BASE = "http://chatloom.test"


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOidc]:
    with running(FakeOidc("chatloom", "client-secret-123")) as fake:
        monkeypatch.setenv("CHATLOOM_OIDC_ISSUER", fake.url)
        monkeypatch.setenv("CHATLOOM_OIDC_CLIENT_ID", "chatloom")
        monkeypatch.setenv("CHATLOOM_OIDC_CLIENT_SECRET", "client-secret-123")
        monkeypatch.setenv("CHATLOOM_OIDC_NAME", "Acme ID")
        yield fake


@pytest.fixture
async def app(engine: Engine, builtins: Registry, provider: FakeOidc) -> AsyncIterator[FastAPI]:
    made = create_app(Runtime(engine, builtins))
    async with made.router.lifespan_context(made):
        yield made


def browser(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


async def sign_in(http: httpx.AsyncClient, next_url: str = "/flows/x") -> httpx.Response:
    """Press “Sign in with Acme ID”, let the provider answer, come back: the server's last answer."""
    start = await http.get("/login/sso", params={"next": next_url})
    assert start.status_code == 303, start.text
    async with httpx.AsyncClient() as outside:  # the provider is a real server on 127.0.0.1
        at_provider = await outside.get(start.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == BASE and back.path == "/login/sso/callback"
    return await http.get(f"{back.path}?{back.query}")


async def test_sign_in_with_the_company_account(app: FastAPI) -> None:
    access: Access = app.state.access
    account(access)  # the server's owner, made at set-up
    async with browser(app) as http:
        assert "Sign in with Acme ID" in (await http.get("/login")).text
        done = await sign_in(http)
        assert done.status_code == 303 and done.headers["location"] == "/flows/x"
        me = (await http.get("/api/me")).json()
    assert (me["email"], me["role"]) == ("grace@example.com", "viewer")  # made at first sign-in, least rights
    actions = [(e.actor, e.action) for e in access.audit.entries()]
    assert ("grace@example.com", "login.sso") in actions and ("single sign-on", "account.create") in actions


async def test_an_existing_account_keeps_its_role_and_a_disabled_one_is_refused(
    app: FastAPI, provider: FakeOidc
) -> None:
    access: Access = app.state.access
    editor = account(access, "editor")
    provider.person["email"] = editor.email.upper()  # the provider's spelling
    async with browser(app) as http:
        assert (await sign_in(http)).status_code == 303
        assert (await http.get("/api/me")).json()["role"] == "editor"
    access.accounts.set_disabled(editor.id, True)
    async with browser(app) as http:
        refused = await sign_in(http)
        assert refused.status_code == 401 and "Your account is disabled" in refused.text
        assert COOKIE not in http.cookies


@pytest.mark.parametrize("tamper", ["nonce", "audience", "signature", "expired"])
async def test_a_forged_or_stale_id_token_is_refused(app: FastAPI, provider: FakeOidc, tamper: str) -> None:
    provider.tamper = tamper
    async with browser(app) as http:
        refused = await sign_in(http)
        assert refused.status_code == 401 and "could not be verified" in refused.text
        assert COOKIE not in http.cookies
        assert (await http.get("/api/me")).status_code == 401
    assert app.state.access.accounts.by_email("grace@example.com") is None  # nothing made on a bad answer
    assert app.state.access.audit.entries(action="login.sso_failed")


async def test_a_replayed_or_foreign_answer_is_refused(app: FastAPI) -> None:
    async with browser(app) as http:
        start = await http.get("/login/sso")
        async with httpx.AsyncClient() as outside:
            back = urlsplit((await outside.get(start.headers["location"])).headers["location"])
        callback = f"{back.path}?{back.query}"
        async with browser(app) as other:  # someone else's browser, given the link (login CSRF)
            foreign = await other.get(callback)
            assert foreign.status_code == 400 and "not started in this browser" in foreign.text
        assert (await http.get(callback)).status_code == 303
        http.cookies.set(
            "chatloom_sso", dict(x.split("=", 1) for x in back.query.split("&"))["state"], path="/login/sso"
        )
        replay = await http.get(callback)  # the same code and state again
        assert replay.status_code == 401 and "expired or was used already" in replay.text


async def test_without_a_provider_there_is_no_sso(
    engine: Engine, builtins: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHATLOOM_OIDC_ISSUER", raising=False)
    app = create_app(Runtime(engine, builtins))
    async with browser(app) as http:
        account(app.state.access)
        assert "Sign in with" not in (await http.get("/login")).text
        assert (await http.get("/login/sso")).status_code == 404

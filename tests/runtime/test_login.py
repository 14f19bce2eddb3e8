"""Signing in over HTTP, as an attacker tries it: probing which emails have accounts, locking the
owner out from their own address or from many, and pretending to be another address."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from nodes.registry import Registry
from runtime.access import Access
from runtime.accounts import REFUSED, Accounts
from runtime.api import create_app
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from runtime.lockout import ACCOUNT_BURST, FREE_ATTEMPTS
from runtime.login import DEVICE_COOKIE
from tests.access import OWNER, PASSWORD, CountingHasher, account

BASE = "http://chatloom.test"
ATTACKER = "203.0.113.9"


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
async def app(engine: Engine, builtins: Registry, hasher: CountingHasher) -> AsyncIterator[FastAPI]:
    runtime = Runtime(engine, builtins)
    made = create_app(runtime, Channels(runtime, ChannelStore(engine, SecretBox(Fernet.generate_key()))))
    access: Access = made.state.access
    # real argon2id at cheap settings, counted; time stands still, so no lock runs out mid-test
    access.accounts = Accounts(engine, clock=lambda: 1_000_000.0, hasher=hasher)
    access.logins.count = 10_000  # the per-address limit has its own test (test_access)
    account(access)
    async with made.router.lifespan_context(made):
        yield made


def browser(app: object, address: str) -> httpx.AsyncClient:
    """A browser at this address (the ASGI client, as uvicorn passes it on)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50_000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url=BASE, headers={"origin": BASE})


async def sign_in(http: httpx.AsyncClient, email: str = OWNER, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/login", data={"email": email, "password": password, "next": "/flows"})


async def test_unknown_wrong_and_waiting_get_one_answer_after_the_same_work(
    app: FastAPI, hasher: CountingHasher
) -> None:
    access: Access = app.state.access
    async with browser(app, ATTACKER) as attacker:
        for _ in range(FREE_ATTEMPTS):
            await sign_in(attacker, OWNER, "not the password")
        unknown = "ownex@chatloom.test"  # as long as OWNER: the form repeats the email typed
        assert len(unknown) == len(OWNER)
        answers = {}
        for case, (address, email, password) in {
            "no such account": ("198.51.100.1", unknown, PASSWORD),
            "wrong password": ("198.51.100.2", OWNER, "not the password"),
            "waiting, right password": (ATTACKER, OWNER, PASSWORD),
        }.items():
            hasher.verified = hasher.hashed = 0
            async with browser(app, address) as http:
                r = await sign_in(http, email, password)
            body = r.text.replace(html.escape(email), "EMAIL")
            answers[case] = (r.status_code, sorted(r.headers.items()), body, hasher.verified, hasher.hashed)
    first = answers["no such account"]
    assert first[0] == 401 and html.escape(REFUSED) in first[2] and first[3:] == (1, 0)
    assert answers["wrong password"] == first and answers["waiting, right password"] == first
    actions = [e.action for e in access.audit.entries(limit=3)]
    assert actions == ["login.locked", "login.failed", "login.failed"]  # the log still tells them apart


async def test_a_stranger_cannot_lock_the_owner_out_and_her_browser_stays_known(app: FastAPI) -> None:
    async with browser(app, ATTACKER) as attacker:
        for _ in range(50):
            assert (await sign_in(attacker, OWNER, "not the password")).status_code == 401
        assert (await sign_in(attacker)).status_code == 401  # even with the password: that address waits
    async with browser(app, "198.51.100.7") as owner:
        r = await sign_in(owner)
        assert r.status_code == 303 and r.headers["location"] == "/flows"
        known = owner.cookies[DEVICE_COOKIE]
        device = next(c for c in r.headers.get_list("set-cookie") if c.startswith(DEVICE_COOKIE))
        assert all(part in device for part in ("Path=/login", "HttpOnly", "SameSite=Strict"))
    for n in range(ACCOUNT_BURST // FREE_ATTEMPTS + 1):  # a botnet: many addresses, a few tries each
        async with browser(app, f"10.7.{n // 250}.{n % 250}") as bot:
            for _ in range(FREE_ATTEMPTS):
                await sign_in(bot, OWNER, "a guess")
    async with browser(app, "192.0.2.44") as stranger:
        assert (await sign_in(stranger)).status_code == 401  # a browser never seen waits out the attack
        stranger.cookies.set(DEVICE_COOKIE, "made-up", domain="chatloom.test", path="/login")
        assert (await sign_in(stranger)).status_code == 401
    async with browser(app, "192.0.2.44") as travelling:  # the owner's own browser, on another network
        travelling.cookies.set(DEVICE_COOKIE, known, domain="chatloom.test", path="/login")
        assert (await sign_in(travelling)).status_code == 303


async def test_a_forwarded_address_counts_only_from_the_trusted_proxy(app: FastAPI) -> None:
    access: Access = app.state.access
    # as `chatloom serve` runs it (uvicorn's default); its ASGI types are stricter than FastAPI's own
    served = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")  # type: ignore[arg-type]
    async with browser(served, "127.0.0.1") as proxy:
        for _ in range(FREE_ATTEMPTS):
            r = await proxy.post(
                "/login",
                data={"email": OWNER, "password": "not the password"},
                headers={"x-forwarded-for": ATTACKER},
            )
            assert r.status_code == 401
        assert access.audit.entries(limit=1)[0].address == ATTACKER
        owner = await proxy.post(
            "/login", data={"email": OWNER, "password": PASSWORD}, headers={"x-forwarded-for": "198.51.100.7"}
        )
        assert owner.status_code == 303  # the owner behind the same proxy is another client
    async with browser(served, ATTACKER) as direct:  # not the proxy: its header is not believed
        forged = await direct.post(
            "/login", data={"email": OWNER, "password": PASSWORD}, headers={"x-forwarded-for": "198.51.100.99"}
        )
        assert forged.status_code == 401
    assert access.audit.entries(limit=1)[0].address == ATTACKER

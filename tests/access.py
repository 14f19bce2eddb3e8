"""Signing the tests in: an owner (or an account of any role) with a session cookie or an API token."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from runtime.access import COOKIE, RIGHTS, Access
from runtime.accounts import Role, User
from runtime.workspaces import DEFAULT

OWNER = "owner@chatloom.test"
PASSWORD = "correct horse battery staple"


def account(access: Access, role: Role = "owner") -> User:
    """The test account of this role (made once per database; the first one is the owner)."""
    if not access.accounts.has_owner():
        access.accounts.create_owner(OWNER, PASSWORD)
    email = OWNER if role == "owner" else f"{role}@chatloom.test"
    found = access.accounts.by_email(email)
    if found is None:
        found = access.accounts.create(email, PASSWORD, role)
        access.workspaces.set_member(DEFAULT, found.id, True)  # a member of the default workspace
    return found


def api_headers(app: FastAPI | Access, scopes: Iterable[str] = RIGHTS, role: Role = "owner") -> dict[str, str]:
    """Authorization for the HTTP API: a token of the role's account with these scopes."""
    access = app if isinstance(app, Access) else app.state.access
    _, text = access.accounts.create_token(account(access, role).id, "tests", list(scopes))
    return {"authorization": f"Bearer {text}"}


def sign_in(client: httpx.AsyncClient, access: Access, role: Role = "owner") -> User:
    """A live session of the role's account, as the browser's cookie."""
    user = account(access, role)
    client.cookies.set(COOKIE, access.accounts.open_session(user.id))
    return user


class CountingHasher(PasswordHasher):
    """argon2id at its lowest cost (sign-in tests check hundreds of passwords), counting its work."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified = self.hashed = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified += 1
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.hashed += 1
        return super().hash(password, salt=salt)

"""The people who build and run bots: accounts with argon2id passwords, roles, sign-in with a
lockout that neither tells who has an account nor lets a stranger lock the owner out
(`runtime.lockout`), and sessions that expire and can be revoked.

A session is a random token given to the browser once; the database keeps only its SHA-256, so a
copy of the database opens no session. API tokens are kept the same way, with their scopes and
the time they were last used. What each role may do is `runtime.access`'s; this module only keeps
who is who.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from flows.db import create_tables
from runtime.lockout import Lockout

if TYPE_CHECKING:
    from argon2 import PasswordHasher

Role = Literal["owner", "admin", "editor", "publisher", "analyst", "viewer"]
ROLES: tuple[Role, ...] = ("owner", "admin", "editor", "publisher", "analyst", "viewer")
SESSION_SECONDS = 12 * 3600
SHORTEST_PASSWORD = 12
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why in one sentence."""


# One answer for an unknown email, a wrong password and a client that must wait: which of them it
# was would tell an attacker who has an account (and a lock is keyed by the email as typed).
REFUSED = (
    "That email and password do not match an account. After several wrong tries, signing in from "
    "this browser pauses for a while."
)


class LoginRefused(Exception):
    """A sign-in refused, always with the same words; `retry_after` > 0 (for the audit log only)
    when the client had to wait and its password was not even looked at."""

    def __init__(self, retry_after: float = 0.0) -> None:
        super().__init__(REFUSED)
        self.retry_after = retry_after


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    id: str = Field(primary_key=True, max_length=32)
    email: str = Field(unique=True, max_length=254)  # kept case-folded
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=200)  # argon2id, with its own salt and settings
    role: str = Field(max_length=16)
    disabled: bool = False
    # unused since failures are counted per email and client (runtime.lockout); kept because
    # existing databases have these NOT NULL columns
    failed: int = 0
    locked_until: float = 0.0
    created_at: float


class TokenRow(SQLModel, table=True):
    __tablename__ = "api_tokens"
    id: str = Field(primary_key=True, max_length=16)  # shown in lists; also the token's readable prefix
    token_hash: str = Field(unique=True, max_length=64)
    user_id: str = Field(index=True, max_length=32)
    name: str = Field(max_length=100)
    scopes: str = Field(max_length=1000)  # rights, space-separated
    created_at: float
    last_used_at: float | None = None
    revoked: bool = False


class SessionRow(SQLModel, table=True):
    __tablename__ = "sessions"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(index=True, max_length=32)
    created_at: float
    expires_at: float
    revoked: bool = False


USERS = UserRow.__table__  # type: ignore[attr-defined]
SESSIONS = SessionRow.__table__  # type: ignore[attr-defined]
TOKENS = TokenRow.__table__  # type: ignore[attr-defined]
TOKEN_PREFIX = "clt_"
LAST_USED_EVERY = 60.0  # seconds: a token's last-used time is written at most this often


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    role: Role
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    user_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: float
    last_used_at: float | None
    revoked: bool


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # argon2id with the library's recommended settings

    return PasswordHasher()


def _verified(hasher: PasswordHasher, stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Accounts and sessions in the runtime's database."""

    def __init__(
        self, engine: Engine, clock: Callable[[], float] = time.time, hasher: PasswordHasher | None = None
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._hasher = hasher
        self.lockout = Lockout(engine)
        self._stand_in = ""  # a hash of nothing anyone knows, checked when the email has no account
        create_tables(engine, [USERS, SESSIONS, TOKENS])

    @property
    def hasher(self) -> PasswordHasher:
        if self._hasher is None:
            self._hasher = _hasher()
        return self._hasher

    # accounts

    def has_owner(self) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(select(func.count()).where(USERS.c.role == "owner")).scalar_one())

    def create_owner(self, email: str, password: str, name: str = "") -> User:
        """The first account, with every right; refused once an owner exists."""
        if self.has_owner():
            raise AccountError("This server already has an owner; the owner or an admin adds other accounts.")
        return self.create(email, password, "owner", name)

    def create(self, email: str, password: str, role: Role, name: str = "") -> User:
        email = email.strip().casefold()
        if not EMAIL.match(email):
            raise AccountError(f"“{email}” is not an email address.")
        if role not in ROLES:
            raise AccountError(f"“{role}” is not a role; choose one of {', '.join(ROLES)}.")
        _check_password(password)
        user = User(uuid.uuid4().hex, email, name.strip()[:200], role)
        with self.engine.begin() as conn:
            if conn.execute(select(USERS.c.id).where(USERS.c.email == email)).first() is not None:
                raise AccountError(f"There is already an account for {email}.")
            conn.execute(
                USERS.insert().values(
                    id=user.id,
                    email=email,
                    name=user.name,
                    password_hash=self.hasher.hash(password),
                    role=role,
                    created_at=self.clock(),
                )
            )
        return user

    def users(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(USERS).order_by(USERS.c.created_at, USERS.c.email)).all()
        return [_user(row) for row in rows]

    def get(self, user_id: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(USERS).where(USERS.c.id == user_id)).first()
        return _user(row) if row is not None else None

    def by_email(self, email: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(USERS).where(USERS.c.email == email.strip().casefold())).first()
        return _user(row) if row is not None else None

    def set_role(self, user_id: str, role: Role) -> None:
        """Change an account's role; the last owner stays an owner (someone must hold every right)."""
        if role not in ROLES:
            raise AccountError(f"“{role}” is not a role; choose one of {', '.join(ROLES)}.")
        with self.engine.begin() as conn:
            row = conn.execute(select(USERS).where(USERS.c.id == user_id)).first()
            if row is None:
                raise AccountError("There is no such account.")
            if row.role == "owner" and role != "owner" and self._owners(conn) <= 1:
                raise AccountError("This is the only owner; make another account owner first.")
            conn.execute(update(USERS).where(USERS.c.id == user_id).values(role=role))

    def set_disabled(self, user_id: str, disabled: bool) -> None:
        """Disable (every session and token stops working at once) or enable an account."""
        with self.engine.begin() as conn:
            row = conn.execute(select(USERS).where(USERS.c.id == user_id)).first()
            if row is None:
                raise AccountError("There is no such account.")
            if disabled and row.role == "owner" and self._owners(conn) <= 1:
                raise AccountError("This is the only owner; it cannot be disabled.")
            conn.execute(update(USERS).where(USERS.c.id == user_id).values(disabled=disabled))
        if disabled:
            self.revoke_all(user_id)

    @staticmethod
    def _owners(conn: object) -> int:
        query = select(func.count()).where(USERS.c.role == "owner", USERS.c.disabled.is_(False))
        return int(conn.execute(query).scalar_one())  # type: ignore[attr-defined]

    def login(self, email: str, password: str, *, address: str = "", device: str = "") -> tuple[User, str]:
        """(the user, a new session token) for the right email and password from a client allowed to
        try (`address`, or a known-device cookie: runtime.lockout); LoginRefused otherwise, with the
        same words and the same work whether the account is unknown, the password wrong, or the
        client must wait: one password check every time, never skipped."""
        if not self._stand_in:  # made before anything is looked up: the first attempt pays it whoever it names
            self._stand_in = self.hasher.hash(secrets.token_urlsafe(32))
        email = email.strip().casefold()
        now = self.clock()
        with self.engine.connect() as conn:
            row = conn.execute(select(USERS).where(USERS.c.email == email)).first()
        client = self.lockout.client(row.id if row is not None else None, address, device)
        wait = self.lockout.wait(email, client, now)
        right = _verified(self.hasher, row.password_hash if row is not None else self._stand_in, password)
        if row is None or row.disabled or not right or wait > 0:
            self.lockout.failed(email, client, now, counted=wait == 0)
            raise LoginRefused(wait)
        self.lockout.succeeded(email, client)
        if self.hasher.check_needs_rehash(row.password_hash):  # older settings: stronger ones, same time as the rest
            with self.engine.begin() as conn:
                conn.execute(update(USERS).where(USERS.c.id == row.id).values(password_hash=self.hasher.hash(password)))
        return _user(row), self._start_session(row.id, now)

    def remember_device(self, user_id: str) -> str:
        """A known-device token for the browser that just signed in with its password (its cookie):
        strangers' failures never slow that browser down (runtime.lockout)."""
        return self.lockout.remember_device(user_id, self.clock())

    def knows_device(self, user_id: str, device: str) -> bool:
        return bool(device) and self.lockout.knows(user_id, device)

    def change_password(self, user_id: str, old: str, new: str) -> None:
        """The user's own change: the old password is asked again; every other session ends."""
        with self.engine.connect() as conn:
            row = conn.execute(select(USERS).where(USERS.c.id == user_id)).first()
        if row is None:
            raise AccountError("There is no such account.")
        if not _verified(self.hasher, row.password_hash, old):
            raise AccountError("The current password is not right.")
        self.reset_password(user_id, new)

    def reset_password(self, user_id: str, new: str) -> None:
        """Set a new password (an admin's reset): every session ends, no browser is known any more,
        and the account's failed sign-ins are forgotten (its owner may have locked themselves out)."""
        _check_password(new)
        with self.engine.begin() as conn:
            email = conn.execute(select(USERS.c.email).where(USERS.c.id == user_id)).scalar()
            if email is None:
                raise AccountError("There is no such account.")
            conn.execute(update(USERS).where(USERS.c.id == user_id).values(password_hash=self.hasher.hash(new)))
        self.revoke_all(user_id)
        self.lockout.forget_devices(user_id)
        self.lockout.clear(email)

    # sessions

    def open_session(self, user_id: str) -> str:
        """A session for an account whose identity was proven elsewhere (single sign-on)."""
        return self._start_session(user_id, self.clock())

    def _start_session(self, user_id: str, now: float) -> str:
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                SESSIONS.insert().values(
                    token_hash=_digest(token), user_id=user_id, created_at=now, expires_at=now + SESSION_SECONDS
                )
            )
        return token

    def session_user(self, token: str) -> User | None:
        """Who holds this session token, if it is live (not expired, revoked, or of a disabled account)."""
        if not token or len(token) > 100:
            return None
        query = (
            select(USERS)
            .join(SESSIONS, SESSIONS.c.user_id == USERS.c.id)
            .where(SESSIONS.c.token_hash == _digest(token), SESSIONS.c.revoked.is_(False))
            .where(SESSIONS.c.expires_at > self.clock(), USERS.c.disabled.is_(False))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _user(row) if row is not None else None

    def logout(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(SESSIONS).where(SESSIONS.c.token_hash == _digest(token)).values(revoked=True))

    def revoke_all(self, user_id: str) -> int:
        with self.engine.begin() as conn:
            done = conn.execute(update(SESSIONS).where(SESSIONS.c.user_id == user_id).values(revoked=True))
            return int(done.rowcount or 0)

    # API tokens

    def create_token(self, user_id: str, name: str, scopes: list[str] | tuple[str, ...]) -> tuple[Token, str]:
        """A new token for the HTTP API: (its record, the token itself, which is shown this once)."""
        name = name.strip()
        if not name:
            raise AccountError("Give the token a name, so you can tell it apart later.")
        if not scopes:
            raise AccountError("Choose at least one right for the token.")
        secret = secrets.token_urlsafe(32)
        token_id = secrets.token_hex(4)
        text = f"{TOKEN_PREFIX}{token_id}_{secret}"
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                TOKENS.insert().values(
                    id=token_id,
                    token_hash=_digest(text),
                    user_id=user_id,
                    name=name[:100],
                    scopes=" ".join(sorted(set(scopes))),
                    created_at=now,
                )
            )
        return Token(token_id, user_id, name[:100], tuple(sorted(set(scopes))), now, None, False), text

    def tokens(self, user_id: str | None = None) -> list[Token]:
        """Every token (of one account, when given), newest first, revoked ones included."""
        query = select(TOKENS).order_by(TOKENS.c.created_at.desc())
        if user_id is not None:
            query = query.where(TOKENS.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_token(row) for row in conn.execute(query)]

    def revoke_token(self, token_id: str, user_id: str | None = None) -> bool:
        """Revoke a token (only one of `user_id`'s, when given); False when there was none to revoke."""
        query = update(TOKENS).where(TOKENS.c.id == token_id, TOKENS.c.revoked.is_(False))
        if user_id is not None:
            query = query.where(TOKENS.c.user_id == user_id)
        with self.engine.begin() as conn:
            return bool(conn.execute(query.values(revoked=True)).rowcount)

    def token_user(self, text: str) -> tuple[User, Token] | None:
        """Who holds this API token and the token, if it is live (not revoked, account enabled)."""
        if not text.startswith(TOKEN_PREFIX) or len(text) > 100:
            return None
        query = (
            select(TOKENS, USERS.c.email, USERS.c.name.label("user_name"), USERS.c.role, USERS.c.disabled)
            .join(USERS, USERS.c.id == TOKENS.c.user_id)
            .where(TOKENS.c.token_hash == _digest(text), TOKENS.c.revoked.is_(False), USERS.c.disabled.is_(False))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        now = self.clock()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            with self.engine.begin() as conn:
                conn.execute(update(TOKENS).where(TOKENS.c.id == row.id).values(last_used_at=now))
        return User(row.user_id, row.email, row.user_name, row.role), _token(row)


def _token(row: object) -> Token:
    r = row  # a row of TOKENS
    return Token(
        r.id,  # type: ignore[attr-defined]
        r.user_id,  # type: ignore[attr-defined]
        r.name,  # type: ignore[attr-defined]
        tuple(r.scopes.split()),  # type: ignore[attr-defined]
        r.created_at,  # type: ignore[attr-defined]
        r.last_used_at,  # type: ignore[attr-defined]
        r.revoked,  # type: ignore[attr-defined]
    )


def _check_password(password: str) -> None:
    if len(password) < SHORTEST_PASSWORD:
        raise AccountError(f"A password needs at least {SHORTEST_PASSWORD} characters.")
    if len(password) > 1000:
        raise AccountError("A password may have at most 1,000 characters.")


def _user(row: object) -> User:
    return User(row.id, row.email, row.name, row.role, row.disabled)  # type: ignore[attr-defined]

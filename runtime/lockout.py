"""Who may try a password now: failed sign-ins counted per (typed email, client), a slow-down per
email for clients it does not know, and the browsers an account has signed in from before.

Three rules, each against one attack:

- Guessing from one place. Failures are counted per typed email *and* client (the browser's
  address, or its known-device cookie). After FREE_ATTEMPTS failures in a row that pair waits
  1 s, 2 s, 4 s… up to LONGEST_LOCK. Someone failing from their address locks only themselves:
  the owner signs in from any other address, or from their usual browser.
- Guessing from many places (a botnet, each address trying a few times). Failures of clients the
  account does not know fill a bucket per typed email that empties at ACCOUNT_BURST per
  ACCOUNT_REFILL seconds; while it is full, such clients are refused whatever they type. The
  whole world then gets about ACCOUNT_BURST guesses an hour, and a browser the account has
  signed in from before (a device cookie, OWASP's "device cookies") is never slowed by them.
  The price: during such an attack the owner signs in from a known browser (or by single
  sign-on, or resets the password with `chatloom users reset-password`), not from a new one.
- Probing which accounts exist. Everything here is keyed by the email as typed (case-folded),
  whether or not an account has it, so a lock says nothing about who has an account.

The client's address is the ASGI client: uvicorn replaces it with X-Forwarded-For only when the
request comes from a trusted proxy (FORWARDED_ALLOW_IPS, 127.0.0.1 by default), so a client
cannot pick its own address by sending the header. Rows hold digests, never an email or address.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, SQLModel

from flows.db import create_tables

FREE_ATTEMPTS = 5  # failures in a row, per email and client, before the pair waits
LONGEST_LOCK = 15 * 60  # seconds: a pair's wait doubles from 1 s up to this
ACCOUNT_BURST = 100  # failures of unknown clients per email before they are slowed
ACCOUNT_REFILL = 3600.0  # seconds in which the per-email bucket empties entirely
FORGET_AFTER = 24 * 3600.0  # a pair or bucket untouched this long is forgotten
DEVICE_SECONDS = 365 * 24 * 3600  # a known-device cookie lasts a year


class LoginFailureRow(SQLModel, table=True):
    """A pair's failures in a row and its lock, or an email's bucket of failures by unknown clients."""

    __tablename__ = "login_failures"
    key: str = Field(primary_key=True, max_length=64)  # digest of ("pair", email, client) or ("email", email)
    email: str = Field(index=True, max_length=64)  # digest of the typed email, to clear them all on a reset
    failed: int = 0
    locked_until: float = 0.0
    level: float = 0.0  # the bucket: failures not yet drained
    at: float = Field(index=True)


class LoginDeviceRow(SQLModel, table=True):
    """A browser that signed in to an account with its password (only the token's SHA-256 is kept)."""

    __tablename__ = "login_devices"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(index=True, max_length=32)
    created_at: float = Field(index=True)


FAILURES = LoginFailureRow.__table__  # type: ignore[attr-defined]
DEVICES = LoginDeviceRow.__table__  # type: ignore[attr-defined]
RATE = ACCOUNT_BURST / ACCOUNT_REFILL  # failures drained per second


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Client:
    """Who is trying: a known device of the account, or else an address."""

    key: str  # "device:<digest>" or "address:<ip>"
    known: bool


class Lockout:
    """Failed sign-ins and known devices in the accounts' database. Every method takes `now`: the
    accounts' clock is the one clock (tests move it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine, [FAILURES, DEVICES])

    # clients

    def client(self, user_id: str | None, address: str, device: str) -> Client:
        """A device cookie counts only if it is one this account was given; any other is ignored
        (one query whenever a cookie is sent, whether the account exists or not)."""
        if device and len(device) <= 100:
            with self.engine.connect() as conn:
                owner = conn.execute(select(DEVICES.c.user_id).where(DEVICES.c.token_hash == _digest(device))).scalar()
            if owner is not None and owner == user_id:
                return Client("device:" + _digest(device), True)
        return Client("address:" + address, False)

    def remember_device(self, user_id: str, now: float) -> str:
        """A new known-device token for this account's browser (its cookie; only its digest is kept)."""
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(delete(DEVICES).where(DEVICES.c.created_at < now - DEVICE_SECONDS))
            conn.execute(insert(DEVICES).values(token_hash=_digest(token), user_id=user_id, created_at=now))
        return token

    def knows(self, user_id: str, device: str) -> bool:
        """Whether this device cookie is one the account was given."""
        return self.client(user_id, "", device).known

    def forget_devices(self, user_id: str) -> None:
        """After a password reset no browser is known any more (one may have been the intruder's)."""
        with self.engine.begin() as conn:
            conn.execute(delete(DEVICES).where(DEVICES.c.user_id == user_id))

    # failures

    def wait(self, email: str, client: Client, now: float) -> float:
        """Seconds this client must wait before a password it sends for this email is checked (0: now)."""
        pair, bucket = _digest("pair", email, client.key), _digest("email", email)
        with self.engine.connect() as conn:
            rows = {r.key: r for r in conn.execute(select(FAILURES).where(FAILURES.c.key.in_([pair, bucket])))}
        wait = max(0.0, rows[pair].locked_until - now) if pair in rows else 0.0
        if not client.known and bucket in rows:
            level = max(0.0, rows[bucket].level - (now - rows[bucket].at) * RATE)
            if level >= ACCOUNT_BURST:
                wait = max(wait, (level - ACCOUNT_BURST + 1) / RATE)
        return wait

    def failed(self, email: str, client: Client, now: float, *, counted: bool) -> None:
        """Record a refused sign-in. `counted`: its password was checked (not refused for waiting);
        only those lengthen the pair's lock and, from unknown clients, fill the email's bucket. The
        same statements run either way, so the time of an answer does not tell a lock from a
        wrong password."""
        pair, bucket, who = _digest("pair", email, client.key), _digest("email", email), _digest(email)
        step = 1 if counted else 0
        with self.engine.begin() as conn:
            conn.execute(delete(FAILURES).where(FAILURES.c.at < now - FORGET_AFTER))
            _ensure(conn, pair, who, now)
            conn.execute(update(FAILURES).where(FAILURES.c.key == pair).values(failed=FAILURES.c.failed + step, at=now))
            failed = conn.execute(select(FAILURES.c.failed).where(FAILURES.c.key == pair)).scalar_one()
            lock = min(2.0 ** (failed - FREE_ATTEMPTS), LONGEST_LOCK) if counted and failed >= FREE_ATTEMPTS else 0.0
            locked = now + lock if lock else FAILURES.c.locked_until
            conn.execute(update(FAILURES).where(FAILURES.c.key == pair).values(locked_until=locked))
            _ensure(conn, bucket, who, now)
            drained = FAILURES.c.level - (now - FAILURES.c.at) * RATE  # the same level, restated at `now`
            level = case((drained > 0, drained), else_=0.0) + (0.0 if client.known else float(step))
            conn.execute(update(FAILURES).where(FAILURES.c.key == bucket).values(level=level, at=now))

    def succeeded(self, email: str, client: Client) -> None:
        """The right password from a client allowed to try: its pair starts again from nothing."""
        with self.engine.begin() as conn:
            conn.execute(delete(FAILURES).where(FAILURES.c.key == _digest("pair", email, client.key)))

    def clear(self, email: str) -> None:
        """Forget every failure for this email (an admin set a new password)."""
        with self.engine.begin() as conn:
            conn.execute(delete(FAILURES).where(FAILURES.c.email == _digest(email)))


def _ensure(conn: Connection, key: str, email: str, now: float) -> None:
    """The row exists (made empty if it did not), inside the caller's transaction; a concurrent
    attempt that made it first is fine."""
    values = {"key": key, "email": email, "at": now}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(FAILURES).values(values).on_conflict_do_nothing(index_elements=["key"]))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(FAILURES).values(values).on_conflict_do_nothing(index_elements=["key"]))

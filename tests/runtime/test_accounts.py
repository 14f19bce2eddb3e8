"""Accounts: argon2id passwords, the first owner, a lockout that grows, sessions that expire, are
revoked on logout and on a password change, and are kept only as hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from runtime.accounts import SESSION_SECONDS, SESSIONS, AccountError, Accounts, LoginRefused

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(engine: Engine, clock: Clock) -> Accounts:
    return Accounts(engine, clock)


def test_one_owner_then_accounts_by_role(accounts: Accounts, engine: Engine) -> None:
    owner = accounts.create_owner("Ada@Example.com", PASSWORD, "Ada")
    assert (owner.email, owner.role) == ("ada@example.com", "owner")
    with pytest.raises(AccountError, match="already has an owner"):
        accounts.create_owner("eve@example.com", PASSWORD)
    accounts.create("bob@example.com", PASSWORD, "editor")
    with pytest.raises(AccountError, match="already an account"):
        accounts.create("BOB@example.com", PASSWORD, "viewer")
    with pytest.raises(AccountError, match="at least 12 characters"):
        accounts.create("carl@example.com", "short", "viewer")
    with pytest.raises(AccountError, match="not a role"):
        accounts.create("carl@example.com", PASSWORD, "god")  # type: ignore[arg-type]
    with pytest.raises(AccountError, match="not an email"):
        accounts.create("carl", PASSWORD, "viewer")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users")).scalars().all()
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in stored)


def test_login_session_logout(accounts: Accounts, engine: Engine, clock: Clock) -> None:
    accounts.create_owner("ada@example.com", PASSWORD)
    user, token = accounts.login(" ADA@example.com ", PASSWORD)
    assert accounts.session_user(token) == user
    with engine.connect() as conn:
        assert token not in str(conn.execute(select(SESSIONS)).all())  # only its hash is kept
    assert accounts.session_user(token + "x") is None and accounts.session_user("") is None
    accounts.logout(token)
    assert accounts.session_user(token) is None
    _, token = accounts.login("ada@example.com", PASSWORD)
    clock.now += SESSION_SECONDS + 1
    assert accounts.session_user(token) is None  # expired


def test_wrong_passwords_lock_the_account_for_longer_and_longer(accounts: Accounts, clock: Clock) -> None:
    accounts.create_owner("ada@example.com", PASSWORD)
    for _ in range(4):
        with pytest.raises(LoginRefused, match="do not match"):
            accounts.login("ada@example.com", "wrong password!")
    with pytest.raises(LoginRefused, match="do not match"):
        accounts.login("ada@example.com", "wrong password!")  # the fifth: locked for 1 s from now
    with pytest.raises(LoginRefused, match="Too many failed attempts") as locked:
        accounts.login("ada@example.com", PASSWORD)  # even the right password waits
    assert 0 < locked.value.retry_after <= 1
    clock.now += 2
    with pytest.raises(LoginRefused, match="do not match"):
        accounts.login("ada@example.com", "wrong password!")  # sixth: 2 s
    clock.now += 1
    with pytest.raises(LoginRefused, match="Too many"):
        accounts.login("ada@example.com", PASSWORD)
    clock.now += 2
    accounts.login("ada@example.com", PASSWORD)  # and the count starts again
    with pytest.raises(LoginRefused, match="do not match"):
        accounts.login("nobody@example.com", PASSWORD)  # the same sentence: no account probing


def test_password_change_and_reset_end_every_session(accounts: Accounts) -> None:
    owner = accounts.create_owner("ada@example.com", PASSWORD)
    _, first = accounts.login("ada@example.com", PASSWORD)
    with pytest.raises(AccountError, match="current password is not right"):
        accounts.change_password(owner.id, "not it at all", "a brand new passphrase")
    accounts.change_password(owner.id, PASSWORD, "a brand new passphrase")
    assert accounts.session_user(first) is None
    with pytest.raises(LoginRefused):
        accounts.login("ada@example.com", PASSWORD)
    _, second = accounts.login("ada@example.com", "a brand new passphrase")
    accounts.reset_password(owner.id, "an admin chose this one")
    assert accounts.session_user(second) is None
    accounts.login("ada@example.com", "an admin chose this one")


def test_create_owner_from_the_command_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    data = str(tmp_path)

    def chatloom(*args: str, password: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "CHATLOOM_OWNER_PASSWORD": password}
        env.pop("DATABASE_URL", None)
        return subprocess.run(
            [sys.executable, "-m", "chatloom", "users", "create-owner", *args, "--data", data],
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )

    short = chatloom("--email", "ada@example.com", password="short")
    assert short.returncode != 0 and "at least 12 characters" in short.stderr
    made = chatloom("--email", "ada@example.com", "--name", "Ada", password=PASSWORD)
    assert made.returncode == 0 and "Created the owner account ada@example.com." in made.stdout, made.stderr
    again = chatloom("--email", "eve@example.com", password=PASSWORD)
    assert again.returncode != 0 and "already has an owner" in again.stderr
    assert PASSWORD not in made.stdout + made.stderr + again.stderr

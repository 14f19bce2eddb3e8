"""Accounts: argon2id passwords, the first owner, a lockout that tells nobody who has an account and
lets no stranger lock the owner out, sessions that expire, are revoked on logout and on a password
change, and are kept only as hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from runtime.accounts import REFUSED, SESSION_SECONDS, SESSIONS, AccountError, Accounts, LoginRefused
from runtime.lockout import ACCOUNT_BURST, ACCOUNT_REFILL, FREE_ATTEMPTS
from tests.access import CountingHasher

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
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def accounts(engine: Engine, clock: Clock, hasher: CountingHasher) -> Accounts:
    return Accounts(engine, clock, hasher)


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


def refused(accounts: Accounts, email: str, password: str, address: str = "", device: str = "") -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        accounts.login(email, password, address=address, device=device)
    return caught.value


def test_wrong_passwords_make_that_address_wait_longer_and_longer(accounts: Accounts, clock: Clock) -> None:
    accounts.create_owner("ada@example.com", PASSWORD)
    for _ in range(4):
        assert refused(accounts, "ada@example.com", "wrong password!", "203.0.113.9").retry_after == 0
    assert refused(accounts, "ada@example.com", "wrong password!", "203.0.113.9").retry_after == 0  # the fifth
    waiting = refused(accounts, "ada@example.com", PASSWORD, "203.0.113.9")  # even the right password waits 1 s
    assert 0 < waiting.retry_after <= 1
    clock.now += 2
    refused(accounts, "ada@example.com", "wrong password!", "203.0.113.9")  # the sixth: 2 s
    clock.now += 1
    assert refused(accounts, "ada@example.com", PASSWORD, "203.0.113.9").retry_after > 0
    clock.now += 2
    accounts.login("ada@example.com", PASSWORD, address="203.0.113.9")  # and the count starts again
    for _ in range(4):
        refused(accounts, "ada@example.com", "wrong password!", "203.0.113.9")
    accounts.login("ada@example.com", PASSWORD, address="203.0.113.9")


def test_unknown_wrong_waiting_and_disabled_answer_alike_after_the_same_work(
    accounts: Accounts, hasher: CountingHasher
) -> None:
    accounts.create_owner("ada@example.com", PASSWORD)
    accounts.set_disabled(accounts.create("bob@example.com", PASSWORD, "viewer").id, True)
    for _ in range(5):
        refused(accounts, "ada@example.com", "wrong password!", "203.0.113.9")
    cases = {
        "unknown": ("nobody@example.com", PASSWORD, "198.51.100.1"),
        "wrong": ("ada@example.com", "wrong password!", "198.51.100.2"),
        "waiting, with the right password": ("ada@example.com", PASSWORD, "203.0.113.9"),
        "disabled, with the right password": ("bob@example.com", PASSWORD, "198.51.100.3"),
    }
    seen = {}
    for case, (email, password, address) in cases.items():
        hasher.verified = hasher.hashed = 0
        answer = refused(accounts, email, password, address)
        seen[case] = (str(answer), type(answer), hasher.verified, hasher.hashed)
    assert set(seen.values()) == {(REFUSED, LoginRefused, 1, 0)}, seen  # one argon2 check each, never skipped


def test_an_email_without_an_account_locks_like_one_with_it(accounts: Accounts) -> None:
    accounts.create_owner("ada@example.com", PASSWORD)

    def waits(email: str) -> list[bool]:
        return [refused(accounts, email, "wrong password!", "203.0.113.9").retry_after > 0 for _ in range(7)]

    assert waits("ada@example.com") == waits("nobody@example.com") == [False] * 5 + [True] * 2


def test_failures_from_one_address_never_lock_the_owner_out_of_another(accounts: Accounts, clock: Clock) -> None:
    accounts.create_owner("ada@example.com", PASSWORD)
    for _ in range(200):  # someone who wants the owner locked out, from their address
        refused(accounts, "ADA@example.com ", "wrong password!", "203.0.113.9")
        clock.now += 0.5
    assert refused(accounts, "ada@example.com", PASSWORD, "203.0.113.9").retry_after > 0  # they wait
    user, _ = accounts.login("ada@example.com", PASSWORD, address="198.51.100.7")  # the owner, elsewhere: in
    assert user.email == "ada@example.com"


def test_many_addresses_slow_strangers_down_but_never_a_browser_the_account_knows(
    accounts: Accounts, clock: Clock
) -> None:
    owner = accounts.create_owner("ada@example.com", PASSWORD)
    viewer = accounts.create("bob@example.com", PASSWORD, "viewer")
    home = accounts.remember_device(owner.id)  # the owner signed in from this browser before
    bobs = accounts.remember_device(viewer.id)
    for n in range(ACCOUNT_BURST // FREE_ATTEMPTS + 1):  # a botnet: each address a few tries
        for _ in range(FREE_ATTEMPTS):
            refused(accounts, "ada@example.com", "guess", f"10.9.{n // 250}.{n % 250}")
    assert refused(accounts, "ada@example.com", PASSWORD, "198.51.100.7").retry_after > 0  # a new browser waits
    assert refused(accounts, "ada@example.com", PASSWORD, "198.51.100.7", "forged-cookie").retry_after > 0
    assert refused(accounts, "ada@example.com", PASSWORD, "198.51.100.7", bobs).retry_after > 0  # not hers
    accounts.login("ada@example.com", PASSWORD, address="198.51.100.7", device=home)  # her own browser: in
    accounts.login("bob@example.com", PASSWORD, address="198.51.100.7")  # other accounts: untouched
    clock.now += ACCOUNT_REFILL
    accounts.login("ada@example.com", PASSWORD, address="198.51.100.7")  # the slow-down drains


def test_a_password_reset_forgets_failures_and_known_browsers(accounts: Accounts) -> None:
    owner = accounts.create_owner("ada@example.com", PASSWORD)
    home = accounts.remember_device(owner.id)
    for _ in range(FREE_ATTEMPTS):
        refused(accounts, "ada@example.com", "wrong password!", "203.0.113.9")
    accounts.reset_password(owner.id, "an admin chose this one")
    assert not accounts.knows_device(owner.id, home)  # it may have been an intruder's
    accounts.login("ada@example.com", "an admin chose this one", address="203.0.113.9")


def test_a_password_kept_with_older_settings_is_rehashed_on_sign_in(engine: Engine, hasher: CountingHasher) -> None:
    Accounts(engine, hasher=hasher).create_owner("ada@example.com", PASSWORD)  # cheap settings
    stronger = Accounts(engine)
    stronger.login("ada@example.com", PASSWORD)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users")).scalar_one()
    assert not stronger.hasher.check_needs_rehash(stored)
    stronger.login("ada@example.com", PASSWORD)


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

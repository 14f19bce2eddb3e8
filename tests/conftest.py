"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from flows.db import make_engine
from nodes.registry import Registry

pytest_plugins = ["tests.suite_clock"]

POSTGRES_URL = os.environ.get("CHATLOOM_TEST_POSTGRES_URL", "")
# piper reads a text the same way every time, so what Whisper hears back is repeatable (also in the
# servers the browser tests start, which inherit the environment)
os.environ["CHATLOOM_STEADY_VOICE"] = "1"
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# The tests whose behaviour depends on the database run on PostgreSQL too: storage, claims and
# locks, timers kept in tables, triggers, SQL-level sums, erasure across tables. The others use
# the database only to hold their setup, and would only run the same statements twice.
POSTGRES_MODULES = frozenset(
    {
        "tests.flows.test_store",
        "tests.runtime.test_engine",
        "tests.runtime.test_timers",
        "tests.runtime.test_access",
        "tests.runtime.test_accounts",
        "tests.runtime.test_login",
        "tests.runtime.test_retention",
        "tests.runtime.test_workspaces",
        "tests.runtime.test_workspace_secrets",
        "tests.channels.test_inbox",
        "tests.channels.test_workers",
        "tests.channels.test_switch",
        "tests.channels.test_privacy",
        "tests.channels.test_privacy_search",
        "tests.channels.test_masked_delivery",
        "tests.channels.test_conversation_reach",
        "tests.ai.test_memory",
        "tests.ai.test_models",
    }
)
SQLITE_ONLY = pytest.mark.skip(reason="its behaviour does not depend on the database: run on SQLite only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("db_url") == "postgres"
        if on_postgres and item.module is not None and item.module.__name__ not in POSTGRES_MODULES:
            item.add_marker(SQLITE_ONLY)
    seed = os.environ.get("CHATLOOM_TEST_SHUFFLE")
    if seed:  # `make flake-hunt`: files in another order, and the tests inside each file too
        _shuffle(items, random.Random(seed))


def _shuffle(items: list[pytest.Item], rng: random.Random) -> None:
    by_file: dict[str, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.nodeid.split("::")[0], []).append(item)
    files = list(by_file.values())
    rng.shuffle(files)
    for tests in files:
        rng.shuffle(tests)
    items[:] = [item for tests in files for item in tests]


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database per test: a SQLite file (WAL) like a real data folder, and PostgreSQL
    when CHATLOOM_TEST_POSTGRES_URL names one (CI starts a server and sets it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'chatloom.db'}"
    if not POSTGRES_URL:
        pytest.skip("CHATLOOM_TEST_POSTGRES_URL is not set")
    return _worker_schema(POSTGRES_URL)


def _worker_schema(url: str) -> str:
    """Under pytest-xdist each worker has a schema of its own in the one database (its tests drop
    every table when they end, which would pull them from under another worker's test)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        return url
    schema = f"tests_{worker}"
    from sqlalchemy import create_engine

    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        admin.dispose()
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    if eng.dialect.name == "postgresql":  # one shared database: leave it empty for the next test
        with eng.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
        SQLModel.metadata.drop_all(eng)
    eng.dispose()


@pytest.fixture(scope="session")
def builtins() -> Registry:
    """Every node type installed through the chatloom.nodes entry points."""
    return Registry.from_entry_points()

"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from flows.db import make_engine
from nodes.registry import Registry

POSTGRES_URL = os.environ.get("CHATLOOM_TEST_POSTGRES_URL", "")
# piper reads a text the same way every time, so what Whisper hears back is repeatable (also in the
# servers the browser tests start, which inherit the environment)
os.environ["CHATLOOM_STEADY_VOICE"] = "1"
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database per test: a SQLite file (WAL) like a real data folder, and PostgreSQL
    when CHATLOOM_TEST_POSTGRES_URL names one (CI starts a server and sets it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'chatloom.db'}"
    if not POSTGRES_URL:
        pytest.skip("CHATLOOM_TEST_POSTGRES_URL is not set")
    return POSTGRES_URL


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

"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from flows.db import make_engine
from nodes.registry import Registry


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite file (WAL) per test, like a real installation's data folder."""
    return f"sqlite:///{tmp_path / 'chatloom.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def builtins() -> Registry:
    """Every node type installed through the chatloom.nodes entry points."""
    return Registry.from_entry_points()

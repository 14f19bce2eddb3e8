"""The database engine: SQLite in the data folder by default (WAL), PostgreSQL given a DATABASE_URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel, create_engine


def default_data_dir() -> Path:
    """Where Chatloom keeps its files unless CHATLOOM_DATA says otherwise."""
    return Path(os.environ.get("CHATLOOM_DATA", "data")).resolve()


def database_url(data_dir: Path | None = None) -> str:
    """DATABASE_URL if set, else a SQLite file in the data folder."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    folder = data_dir or default_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'chatloom.db'}"


def make_engine(url: str) -> Engine:
    """An engine with the settings Chatloom relies on, and every table created."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        # pysqlite opens a transaction at the first write, so a read is a single round trip and
        # a turn's writes commit together. No engine-level event listeners: any one of them
        # makes every statement pay for event dispatch.
        event.listen(engine.pool, "connect", _sqlite_pragmas)
    import flows.store  # noqa: F401 - registers the flow tables

    SQLModel.metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()

"""The database engine: SQLite in the data folder by default (WAL), PostgreSQL given a DATABASE_URL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
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
        # Enough connections for the runtime's database threads (runtime.engine.DB_THREADS) and
        # the event loop's own calls, so a busy worker never opens and closes connections. No
        # pre-ping (a round trip per checkout): see _ping_if_idle.
        kwargs.update(pool_size=12, max_overflow=8)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        # pysqlite opens a transaction at the first write, so a read is a single round trip and
        # a turn's writes commit together. No engine-level event listeners: any one of them
        # makes every statement pay for event dispatch.
        event.listen(engine.pool, "connect", _sqlite_pragmas)
    else:
        event.listen(engine.pool, "connect", _used)
        event.listen(engine.pool, "checkin", _used)
        event.listen(engine.pool, "checkout", _ping_if_idle)
    import flows.store  # noqa: F401 - registers the flow tables

    create_tables(engine)
    return engine


SCHEMA_LOCK = 0x636C6D5F736368  # "clm_sch": one key for every process that creates tables


def create_tables(engine: Engine, tables: list[Any] | None = None) -> None:
    """Create the missing tables (in the schema's turn: see _schema_turn)."""
    with _schema_turn(engine) as conn:
        SQLModel.metadata.create_all(conn, tables=tables)


@contextmanager
def _schema_turn(engine: Engine) -> Iterator[Connection]:
    """A transaction for changing the schema, one process at a time: processes started together
    on a new database would otherwise both see a table or column missing, and one would fail
    adding it. PostgreSQL: an advisory lock the transaction holds; SQLite: its write lock, taken
    up front."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        elif engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn
        conn.commit()


PING_AFTER = 1.0  # seconds a pooled connection may rest before it is checked on its way out


def _used(_dbapi_conn: Any, record: Any) -> None:
    if record is not None:
        record.info["used"] = time.monotonic()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """A connection that rested in the pool is checked before use (the server may have restarted
    meanwhile); one used a moment ago is not (a busy process would pay a round trip per query).
    A dead one is replaced: the pool tries again with a new connection."""
    if time.monotonic() - record.info.get("used", 0.0) < PING_AFTER:
        return
    try:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT 1")
        if not dbapi_conn.autocommit:
            dbapi_conn.rollback()
    except Exception as exc:
        raise DisconnectionError(f"a pooled connection was closed: {type(exc).__name__}") from exc


def autocommit(engine: Engine) -> Engine:
    """The engine for reads and single-statement writes. On PostgreSQL its connections run each
    statement on its own, with no BEGIN and COMMIT (or ROLLBACK) around it: one round trip instead
    of three. It shares the engine's pool. SQLite needs no such thing (a read opens no transaction)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def add_missing(engine: Engine, table: Any) -> None:
    """Add the columns and indexes a table gained since the database was made (create_all makes
    only missing tables). A new column needs a default; rows made before take it."""
    with _schema_turn(engine) as conn:
        found = inspect(conn)
        if not found.has_table(table.name):
            return
        have = {c["name"] for c in found.get_columns(table.name)}
        indexes = {i["name"] for i in found.get_indexes(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            default = column.server_default.arg if column.server_default is not None else _default_of(column)
            conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind} DEFAULT {default}'))
        for index in table.indexes:
            if index.name not in indexes:
                index.create(conn, checkfirst=True)


def _default_of(column: Any) -> str:
    """A new column's default as SQL, from its Python default (False, 0, 0.0, "")."""
    value = column.default.arg if column.default is not None else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return "NULL"

"""The audit log: an append-only record of security-relevant actions.

Who did what, to what, when and from where: sign-ins and refused sign-ins, account, role and token
changes, publishing, deploying, secret changes, exports and erasures. A row is never changed or
deleted: this module has no call for it, and the database refuses it (a trigger on SQLite and
PostgreSQL), so an attacker who gets a builder account cannot tidy up after themselves.

Nothing secret and nothing erased goes in: `record` takes short words (the caller names a key, never
its value), and a data-subject erasure is recorded by its counts, not by whom it was about.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from flows.db import create_tables

SYSTEM = "system"  # the actor of what the server does by itself (the retention job)
CLI = "command line"  # the actor of a `chatloom` command run on the server


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(index=True)
    actor: str = Field(index=True, max_length=254)  # an account's email, or SYSTEM / CLI
    action: str = Field(index=True, max_length=64)  # e.g. "login.failed", "flow.publish"
    target: str = Field(default="", max_length=300)  # what it was done to: a flow id, an account's email
    detail: str = Field(default="{}", max_length=4000)  # JSON: a few words more, never a secret
    address: str = Field(default="", max_length=64)  # the client's IP address, when over HTTP


AUDIT = AuditRow.__table__  # type: ignore[attr-defined]

_SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
]
_POSTGRES_GUARDS = [
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    at: float
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    address: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
            "address": self.address,
        }


@event.listens_for(AUDIT, "after_create")
def _guard(target: Any, connection: Any, **_: Any) -> None:
    """Refuse changes and deletions in the database itself, once, when the table is made."""
    statements = {"sqlite": _SQLITE_GUARDS, "postgresql": _POSTGRES_GUARDS}.get(connection.dialect.name, [])
    for statement in statements:
        connection.execute(text(statement))


class AuditLog:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine, self.clock = engine, clock
        create_tables(engine, [AUDIT])

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        detail: Mapping[str, Any] | None = None,
        address: str = "",
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                AUDIT.insert().values(
                    at=self.clock(),
                    actor=actor[:254],
                    action=action[:64],
                    target=target[:300],
                    detail=json.dumps(dict(detail or {}), ensure_ascii=False, default=str)[:4000],
                    address=address[:64],
                )
            )

    def entries(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 200,
    ) -> list[Entry]:
        """Newest first, filtered: `action` matches a whole action or its family ("login" finds
        "login.failed"); `actor` is an exact email, SYSTEM or CLI."""
        query = select(AUDIT).order_by(AUDIT.c.id.desc()).limit(max(1, min(limit, 10_000)))
        if actor:
            query = query.where(AUDIT.c.actor == actor.strip().casefold())
        if action:
            query = query.where((AUDIT.c.action == action) | AUDIT.c.action.startswith(action + ".", autoescape=True))
        if since is not None:
            query = query.where(AUDIT.c.at >= since)
        if until is not None:
            query = query.where(AUDIT.c.at < until)
        with self.engine.connect() as conn:
            return [
                Entry(r.id, r.at, r.actor, r.action, r.target, json.loads(r.detail or "{}"), r.address)
                for r in conn.execute(query)
            ]


def record_cli(engine: Engine, action: str, target: str = "", detail: Mapping[str, Any] | None = None) -> None:
    """Record what a `chatloom` command did on the server (the actor: CLI)."""
    AuditLog(engine).record(CLI, action, target, detail)


def as_csv(entries: list[Entry]) -> str:
    """The entries as CSV (UTC times), for a spreadsheet or an auditor."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "time (UTC)", "actor", "action", "target", "detail", "address"])
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at))
        writer.writerow([e.id, when, e.actor, e.action, e.target, json.dumps(e.detail, ensure_ascii=False), e.address])
    return out.getvalue()

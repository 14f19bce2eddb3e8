"""The private addresses a workspace's flows may reach: its intranet CRM, an in-house API.

The outbound guard (runtime.outbound) refuses every address that is not public. An owner or an
admin may allow a workspace's flows named networks or host names (10.20.0.0/16, crm.intranet:8443)
on the Users page; each change is recorded in the audit log by that page. A flow reaches the
entries of its own workspace and the server's (CHATLOOM_OUTBOUND_ALLOW), never another workspace's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from flows.db import create_tables
from nodes.api import HttpClient
from runtime.outbound.addresses import Allowance, AllowanceError, parse_rule, server_allowance
from runtime.outbound.guard import Guard
from runtime.workspaces import WorkspaceError, Workspaces

MOST = 100  # entries per workspace: an allowance is a short list, not a second firewall


class OutboundRow(SQLModel, table=True):
    __tablename__ = "workspace_outbound"
    workspace_id: str = Field(primary_key=True, max_length=64)
    entry: str = Field(primary_key=True, max_length=300)
    added_at: float


TABLE = OutboundRow.__table__  # type: ignore[attr-defined]


class WorkspaceOutbound:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.workspaces = Workspaces(engine)
        create_tables(engine, [TABLE])

    def entries(self, workspace: str) -> list[str]:
        with self.engine.connect() as conn:
            query = select(TABLE.c.entry).where(TABLE.c.workspace_id == workspace).order_by(TABLE.c.entry)
            return list(conn.execute(query).scalars())

    def allow(self, workspace: str, text: str) -> str:
        """Add an entry (AllowanceError or WorkspaceError says why not); returns it as stored."""
        entry = str(parse_rule(text))
        if not self.workspaces.exists(workspace):
            raise WorkspaceError(f"There is no workspace “{workspace}”.")
        with self.engine.begin() as conn:
            have = TABLE.c.workspace_id == workspace
            if conn.execute(select(TABLE.c.entry).where(have, TABLE.c.entry == entry)).first() is not None:
                return entry
            if conn.execute(select(func.count()).select_from(TABLE).where(have)).scalar_one() >= MOST:
                raise AllowanceError(f"A workspace allows at most {MOST} addresses; remove one first.")
            conn.execute(TABLE.insert().values(workspace_id=workspace, entry=entry, added_at=time.time()))
        return entry

    def remove(self, workspace: str, entry: str) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(TABLE).where(TABLE.c.workspace_id == workspace, TABLE.c.entry == entry))
            return bool(gone.rowcount)

    def for_flow(self, flow_id: str) -> Allowance:
        """The entries of the flow's workspace (read at every request: a removed entry stops at once)."""
        rules = []
        for entry in self.entries(self.workspaces.of_flow(flow_id)):
            try:
                rules.append(parse_rule(entry))
            except AllowanceError:  # stored by an older version with other rules: no longer allowed
                continue
        return Allowance(tuple(rules))


def guards(engine: Engine, extra: Allowance | None = None) -> tuple[Guard, Callable[[str], HttpClient]]:
    """The server's guard (CHATLOOM_OUTBOUND_ALLOW, plus `extra`) for `Services.http`, and for
    `Services.http_for` the same guard with a flow's workspace's entries."""
    guard = Guard(allow=server_allowance() + (extra or Allowance()))
    stored = WorkspaceOutbound(engine)

    def for_flow(flow_id: str) -> HttpClient:
        return cast(HttpClient, guard.scoped(stored.for_flow(flow_id)))  # httpx's Headers, a mutable Mapping

    return guard, for_flow

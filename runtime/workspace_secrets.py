"""A workspace's secrets for its flows' HTTP steps: `{{ secrets.NAME }}` in a header, address or body.

Kept sealed with the server's key (runtime.channels.secretbox), set and replaced by name on the
Channels page, never shown again, never in a flow file, a log line or the audit log (which records
the name only). A flow reads the secrets of its own workspace, nothing else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from flows.db import create_tables
from runtime.channels.secretbox import SecretBox, SecretsUnreadable
from runtime.workspaces import Workspaces

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
LONGEST = 8192


class SecretRow(SQLModel, table=True):
    __tablename__ = "workspace_secrets"
    workspace_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=64)
    sealed: str
    updated_at: float


TABLE = SecretRow.__table__  # type: ignore[attr-defined]


class WorkspaceSecrets:
    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self.engine, self.box = engine, box
        self.workspaces = Workspaces(engine)
        create_tables(engine, [TABLE])

    def names(self, workspace: str) -> list[str]:
        with self.engine.connect() as conn:
            query = select(TABLE.c.name).where(TABLE.c.workspace_id == workspace).order_by(TABLE.c.name)
            return list(conn.execute(query).scalars())

    def set(self, workspace: str, name: str, value: str) -> None:
        name = name.strip()
        if not NAME.match(name):
            raise ValueError("A secret's name is letters, digits and _, not starting with a digit (e.g. CRM_API_KEY).")
        if not value or len(value) > LONGEST:
            raise ValueError(f"A secret's value is 1 to {LONGEST:,} characters.")
        with self.engine.begin() as conn:
            conn.execute(delete(TABLE).where(TABLE.c.workspace_id == workspace, TABLE.c.name == name))
            conn.execute(
                TABLE.insert().values(
                    workspace_id=workspace, name=name, sealed=self.box.seal({"value": value}), updated_at=time.time()
                )
            )

    def remove(self, workspace: str, name: str) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(TABLE).where(TABLE.c.workspace_id == workspace, TABLE.c.name == name))
            return bool(gone.rowcount)

    def for_flow(self, flow_id: str) -> Mapping[str, str]:
        """The secrets of the flow's workspace, by name (a secret sealed with another key is left out)."""
        workspace = self.workspaces.of_flow(flow_id)
        with self.engine.connect() as conn:
            rows = conn.execute(select(TABLE.c.name, TABLE.c.sealed).where(TABLE.c.workspace_id == workspace)).all()
        found = {}
        for name, sealed in rows:
            try:
                found[name] = str(self.box.open(sealed).get("value", ""))
            except SecretsUnreadable:
                continue
        return found

"""Workspaces: a team's own flows, and with them their deployments, conversations, transcripts,
analytics and retention.

A flow belongs to one workspace (a flow no workspace claims, e.g. from before workspaces existed,
is in the default one). What follows from a flow follows its workspace: its channel deployments
and their credentials, its conversations and what they hold. People see the workspaces they are
members of, with their role; owners and admins see all of them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from flows.db import create_tables

DEFAULT = "default"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
EVERYWHERE = ("owner", "admin")  # roles that see every workspace


class WorkspaceError(ValueError):
    """A request about workspaces that cannot be done; the message says why."""


class WorkspaceRow(SQLModel, table=True):
    __tablename__ = "workspaces"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    created_at: float


class MemberRow(SQLModel, table=True):
    __tablename__ = "workspace_members"
    workspace_id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(primary_key=True, max_length=32, index=True)


class FlowPlaceRow(SQLModel, table=True):
    __tablename__ = "flow_workspaces"
    flow_id: str = Field(primary_key=True, max_length=100)
    workspace_id: str = Field(index=True, max_length=64)


WORKSPACES = WorkspaceRow.__table__  # type: ignore[attr-defined]
MEMBERS = MemberRow.__table__  # type: ignore[attr-defined]
PLACES = FlowPlaceRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    name: str


class Workspaces:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine, [WORKSPACES, MEMBERS, PLACES])
        with engine.begin() as conn:
            if conn.execute(select(WORKSPACES.c.id).where(WORKSPACES.c.id == DEFAULT)).first() is None:
                conn.execute(WORKSPACES.insert().values(id=DEFAULT, name="Default", created_at=time.time()))

    def all(self) -> list[Workspace]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(WORKSPACES.c.id, WORKSPACES.c.name).order_by(WORKSPACES.c.created_at)).all()
        return [Workspace(r.id, r.name) for r in rows]

    def create(self, name: str) -> Workspace:
        name = name.strip()
        slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:63]
        if not name or not SLUG.match(slug):
            raise WorkspaceError("Give the workspace a name with letters or digits.")
        with self.engine.begin() as conn:
            if conn.execute(select(WORKSPACES.c.id).where(WORKSPACES.c.id == slug)).first() is not None:
                raise WorkspaceError(f"There is already a workspace “{slug}”.")
            conn.execute(WORKSPACES.insert().values(id=slug, name=name[:100], created_at=time.time()))
        return Workspace(slug, name[:100])

    def exists(self, workspace_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(WORKSPACES.c.id).where(WORKSPACES.c.id == workspace_id)).first() is not None

    # members

    def of_user(self, user_id: str) -> frozenset[str]:
        with self.engine.connect() as conn:
            found = conn.execute(select(MEMBERS.c.workspace_id).where(MEMBERS.c.user_id == user_id)).scalars()
            return frozenset(found)

    def visible(self, user_id: str, role: str) -> frozenset[str] | None:
        """The workspaces this person sees; None: all of them (owners and admins)."""
        return None if role in EVERYWHERE else self.of_user(user_id)

    def set_member(self, workspace_id: str, user_id: str, member: bool) -> bool:
        """Add or remove a member; whether anything changed."""
        if not self.exists(workspace_id):
            raise WorkspaceError(f"There is no workspace “{workspace_id}”.")
        with self.engine.begin() as conn:
            now = conn.execute(
                select(MEMBERS.c.user_id).where(MEMBERS.c.workspace_id == workspace_id, MEMBERS.c.user_id == user_id)
            ).first()
            if member and now is None:
                conn.execute(MEMBERS.insert().values(workspace_id=workspace_id, user_id=user_id))
                return True
            if not member and now is not None:
                conn.execute(
                    delete(MEMBERS).where(MEMBERS.c.workspace_id == workspace_id, MEMBERS.c.user_id == user_id)
                )
                return True
        return False

    # flows

    def of_flow(self, flow_id: str) -> str:
        with self.engine.connect() as conn:
            found = conn.execute(select(PLACES.c.workspace_id).where(PLACES.c.flow_id == flow_id)).scalar()
        return str(found) if found else DEFAULT

    def flows_in(self) -> dict[str, str]:
        """Every flow placed in a workspace other than by default: flow id → workspace id."""
        with self.engine.connect() as conn:
            return {r.flow_id: r.workspace_id for r in conn.execute(select(PLACES))}

    def place(self, flow_id: str, workspace_id: str) -> None:
        """Put a flow (new or existing) in a workspace."""
        if not self.exists(workspace_id):
            raise WorkspaceError(f"There is no workspace “{workspace_id}”.")
        with self.engine.begin() as conn:
            conn.execute(delete(PLACES).where(PLACES.c.flow_id == flow_id))
            conn.execute(PLACES.insert().values(flow_id=flow_id, workspace_id=workspace_id))

    def forget_flow(self, flow_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(PLACES).where(PLACES.c.flow_id == flow_id))

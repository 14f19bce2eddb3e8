"""Flows in the database: an editable draft per flow, and published versions that never change."""

from __future__ import annotations

import builtins
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from flows.document import dump_flow, parse_flow
from flows.models import Flow
from flows.problems import Catalog, FlowInvalid, has_errors
from flows.validate import validate


def _now() -> datetime:
    return datetime.now(UTC)


class FlowRow(SQLModel, table=True):
    """A flow and its current draft."""

    __tablename__ = "flows"
    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    draft: str  # canonical JSON of the draft document
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class FlowVersionRow(SQLModel, table=True):
    """A published, immutable snapshot of a flow."""

    __tablename__ = "flow_versions"
    flow_id: str = Field(primary_key=True, foreign_key="flows.id", max_length=100)
    version: int = Field(primary_key=True)
    document: str
    checksum: str = Field(max_length=64)
    note: str = ""
    published_at: datetime = Field(default_factory=_now)


class FlowEditorRow(SQLModel, table=True):
    """Who last changed a flow's draft (a table of its own: databases from before need no migration)."""

    __tablename__ = "flow_editors"
    flow_id: str = Field(primary_key=True, max_length=100)
    edited_by: str = Field(max_length=320)


@dataclass(frozen=True, slots=True)
class FlowSummary:
    """A line of the flow list."""

    id: str
    name: str
    updated_at: datetime
    latest_version: int | None
    edited_by: str = ""  # who last changed the draft, when known
    unpublished: bool = False  # the draft differs from the latest published version


@dataclass(frozen=True, slots=True)
class Published:
    """One published version."""

    flow_id: str
    version: int
    flow: Flow
    note: str
    published_at: datetime


class FlowNotFound(LookupError):
    """No flow (or no such version) with that id."""


class FlowStore:
    """Drafts and published versions of flows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save_draft(self, flow: Flow, by: str = "") -> None:
        """Create the flow or replace its draft (`by`: who changed it, for the flow list). Drafts may
        have problems; publishing may not."""
        text = dump_flow(flow)
        with Session(self.engine) as s:
            row = s.get(FlowRow, flow.id)
            if row is None:
                s.add(FlowRow(id=flow.id, name=flow.name, draft=text))
            else:
                row.name, row.draft, row.updated_at = flow.name, text, _now()
                s.add(row)
            if by:
                editor = s.get(FlowEditorRow, flow.id)
                if editor is None:
                    s.add(FlowEditorRow(flow_id=flow.id, edited_by=by[:320]))
                elif editor.edited_by != by:
                    editor.edited_by = by[:320]
                    s.add(editor)
            s.commit()

    def draft(self, flow_id: str) -> Flow:
        """The current draft, or FlowNotFound."""
        with Session(self.engine) as s:
            row = s.get(FlowRow, flow_id)
            if row is None:
                raise FlowNotFound(f"There is no flow {flow_id!r}.")
            return parse_flow(row.draft)

    def exists(self, flow_id: str) -> bool:
        with Session(self.engine) as s:
            return s.get(FlowRow, flow_id) is not None

    def list(self) -> list[FlowSummary]:
        """Every flow with its latest published version, newest edit first."""
        latest = (
            select(FlowVersionRow.flow_id, func.max(FlowVersionRow.version).label("v"))
            .group_by(FlowVersionRow.flow_id)
            .subquery()
        )
        flows, versions, editors = (t.__table__ for t in (FlowRow, FlowVersionRow, FlowEditorRow))  # type: ignore[union-attr]
        f, v, e = flows.c, versions.c, editors.c
        query = (
            sa_select(f.id, f.name, f.updated_at, latest.c.v, e.edited_by, f.draft != v.document)
            .select_from(flows)
            .join(latest, latest.c.flow_id == f.id, isouter=True)
            .join(versions, (v.flow_id == f.id) & (v.version == latest.c.v), isouter=True)
            .join(editors, e.flow_id == f.id, isouter=True)
            .order_by(f.updated_at.desc())
        )
        with self.engine.connect() as conn:
            return [
                FlowSummary(fid, name, at, version, by or "", bool(diff) and version is not None)
                for fid, name, at, version, by, diff in conn.execute(query).all()
            ]

    def publish(self, flow_id: str, catalog: Catalog, note: str = "") -> int:
        """Snapshot the draft as the next version; FlowInvalid (nothing saved) when it has errors."""
        flow = self.draft(flow_id)
        problems = validate(flow, catalog)
        if has_errors(problems):
            raise FlowInvalid(problems, flow_id)
        text = dump_flow(flow)
        with Session(self.engine) as s:
            current = s.exec(select(func.max(FlowVersionRow.version)).where(FlowVersionRow.flow_id == flow_id)).one()
            version = (current or 0) + 1
            s.add(
                FlowVersionRow(
                    flow_id=flow_id,
                    version=version,
                    document=text,
                    checksum=hashlib.sha256(text.encode()).hexdigest(),
                    note=note,
                )
            )
            try:
                s.commit()
            except IntegrityError:  # another editor published the same number first
                s.rollback()
                return self.publish(flow_id, catalog, note)
        return version

    def version(self, flow_id: str, version: int | None = None) -> Published:
        """A published version (the latest when `version` is None), or FlowNotFound."""
        with Session(self.engine) as s:
            query = select(FlowVersionRow).where(FlowVersionRow.flow_id == flow_id)
            if version is None:
                query = query.order_by(FlowVersionRow.version.desc()).limit(1)  # type: ignore[attr-defined]
            else:
                query = query.where(FlowVersionRow.version == version)
            row = s.exec(query).first()
            if row is None:
                what = f"version {version} of " if version is not None else "published version of "
                raise FlowNotFound(f"There is no {what}flow {flow_id!r}.")
            return Published(row.flow_id, row.version, parse_flow(row.document), row.note, row.published_at)

    def latest_version(self, flow_id: str) -> int:
        """The number of the latest published version (a cheap query), or FlowNotFound."""
        with Session(self.engine) as s:
            found = s.exec(select(func.max(FlowVersionRow.version)).where(FlowVersionRow.flow_id == flow_id)).one()
        if found is None:
            raise FlowNotFound(f"There is no published version of flow {flow_id!r}.")
        return int(found)

    def versions(self, flow_id: str) -> builtins.list[Published]:
        """Every published version, newest first."""
        with Session(self.engine) as s:
            rows = s.exec(
                select(FlowVersionRow).where(FlowVersionRow.flow_id == flow_id).order_by(FlowVersionRow.version.desc())  # type: ignore[attr-defined]
            ).all()
            return [Published(r.flow_id, r.version, parse_flow(r.document), r.note, r.published_at) for r in rows]

    def delete(self, flow_id: str) -> None:
        """Remove a flow with all its versions."""
        with Session(self.engine) as s:
            for v in s.exec(select(FlowVersionRow).where(FlowVersionRow.flow_id == flow_id)).all():
                s.delete(v)
            row = s.get(FlowRow, flow_id)
            if row is None:
                raise FlowNotFound(f"There is no flow {flow_id!r}.")
            editor = s.get(FlowEditorRow, flow_id)
            if editor is not None:
                s.delete(editor)
            s.delete(row)
            s.commit()

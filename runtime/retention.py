"""Retention and masking: conversations idle for longer than N days are deleted by a job, and
transcripts can be stored with emails, phone numbers and card numbers masked.

Masking applies to what is written to the transcript from then on (what the person said and what
the bot answered); the flow itself still sees the real values in its variables while it runs, and
those go with the conversation when retention deletes it. What a person receives is never masked:
a masked turn is also kept as it was said for a day (runtime.store.AS_SAID_SECONDS), for the
channels, the widget and a redelivered API event; every sweep deletes what is older, whatever the
settings (masking may have been turned off since).

The job runs in every server and worker process (deleting is idempotent), every ten minutes; it
reads the settings again each time, so a change made on one server reaches the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from flows.db import create_tables
from runtime.audit import SYSTEM, AuditLog
from runtime.channels.store import DEPLOY, INBOX
from runtime.engine import Runtime
from runtime.privacy import Privacy
from runtime.store import AS_SAID_SECONDS, CONV
from runtime.workspaces import DEFAULT, Workspaces

log = logging.getLogger(__name__)
EVERY = 600.0  # seconds between sweeps
BATCH = 500  # conversations erased per transaction
DAY = 86_400.0


class RetentionRow(SQLModel, table=True):
    __tablename__ = "workspace_retention"
    workspace_id: str = Field(primary_key=True, max_length=64)
    days: int = 0  # 0: keep conversations until erased
    mask: bool = False
    changed_at: float = 0.0


TABLE = RetentionRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Settings:
    days: int = 0
    mask: bool = False


class Retention:
    def __init__(self, runtime: Runtime, audit: AuditLog | None = None, clock: Callable[[], float] = time.time) -> None:
        self.runtime, self.clock = runtime, clock
        self.engine: Engine = runtime.engine
        self.audit = audit or AuditLog(self.engine)
        self.workspaces = Workspaces(self.engine)
        create_tables(self.engine, [TABLE])
        self._task: asyncio.Task[None] | None = None

    def settings(self, workspace: str = DEFAULT) -> Settings:
        with self.engine.connect() as conn:
            row = conn.execute(select(TABLE.c.days, TABLE.c.mask).where(TABLE.c.workspace_id == workspace)).first()
        return Settings(int(row.days), bool(row.mask)) if row else Settings()

    def _all(self) -> dict[str, Settings]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(TABLE.c.workspace_id, TABLE.c.days, TABLE.c.mask)).all()
        return {r.workspace_id: Settings(int(r.days), bool(r.mask)) for r in rows}

    def configure(self, days: int, masked: bool, workspace: str = DEFAULT) -> Settings:
        """Keep a workspace's conversations `days` days after their last message (0: until erased); mask or not."""
        if not 0 <= days <= 36_500:
            raise ValueError("Keep conversations between 1 and 36,500 days, or 0 to keep them until erased.")
        if not self.workspaces.exists(workspace):
            raise ValueError(f"There is no workspace “{workspace}”.")
        with self.engine.begin() as conn:
            conn.execute(delete(TABLE).where(TABLE.c.workspace_id == workspace))
            conn.execute(TABLE.insert().values(workspace_id=workspace, days=days, mask=masked, changed_at=self.clock()))
        self.apply()
        return Settings(days, masked)

    def apply(self) -> dict[str, Settings]:
        """Set this process's transcript masking from the stored settings: the flows of the
        workspaces that mask are masked (each flow's workspace read at its first turn, not every turn)."""
        found = self._all()
        masking = {w for w, s in found.items() if s.mask}
        places: dict[str, str] = {}  # flow → workspace, read once per flow: a flow stays in its workspace

        def masked(flow_id: str) -> bool:
            if flow_id not in places:
                places[flow_id] = self.workspaces.of_flow(flow_id)
            return places[flow_id] in masking

        self.runtime.store.masked = masked if masking else None
        return found

    async def sweep(self) -> dict[str, int]:
        """Delete the turns kept as said for longer than a day; then, workspace by workspace, the
        conversations idle longer than its retention period, and the channel events of its channels as old."""
        counts: dict[str, int] = {}
        copies = await asyncio.to_thread(self.runtime.store.forget_as_said, self.clock() - AS_SAID_SECONDS)
        if copies:
            counts["turns kept as said"] = copies
        for workspace, kept in self.apply().items():
            if kept.days:
                for what, n in (await self._sweep(workspace, kept.days)).items():
                    counts[what] = counts.get(what, 0) + n
        return counts

    async def _sweep(self, workspace: str, days: int) -> dict[str, int]:
        cutoff = self.clock() - days * DAY
        places = self.workspaces.flows_in()
        flows = [f.id for f in self.runtime.flows.list() if places.get(f.id, DEFAULT) == workspace]
        privacy = Privacy(self.runtime)
        counts: dict[str, int] = {}
        while flows:
            with self.engine.connect() as conn:
                query = select(CONV.c.id).where(CONV.c.updated_at < cutoff, CONV.c.flow_id.in_(flows)).limit(BATCH)
                ids = list(conn.execute(query).scalars())
            states = [s for cid in ids if (s := self.runtime.store.load(cid)) is not None]
            if not states:
                break
            for what, n in (await asyncio.to_thread(privacy.erase_conversations, states)).items():
                counts[what] = counts.get(what, 0) + n
        with self.engine.begin() as conn:
            accounts = conn.execute(select(DEPLOY.c.channel, DEPLOY.c.account).where(DEPLOY.c.flow_id.in_(flows))).all()
            gone = 0
            for channel, account in accounts:
                old = delete(INBOX).where(
                    INBOX.c.channel == channel,
                    INBOX.c.account == account,
                    INBOX.c.received_at < cutoff,
                    INBOX.c.status != "new",
                )
                gone += int(conn.execute(old).rowcount or 0)
        counts["channel events"] = counts.get("channel events", 0) + gone
        if any(counts.values()):
            self.audit.record(SYSTEM, "retention.sweep", workspace, {"days": days, **counts})
            log.info("retention: deleted what was older than %d days", days, extra={"counts": counts})
        return counts

    def start(self) -> None:
        """Sweep now and every EVERY seconds until stop()."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # a failed sweep is retried at the next round; the server goes on
                log.exception("retention sweep failed")
            await asyncio.sleep(EVERY)

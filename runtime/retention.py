"""Retention and masking: conversations idle for longer than N days are deleted by a job, and
transcripts can be stored with emails, phone numbers and card numbers masked.

Masking applies to what is written to the transcript from then on (what the person said and what
the bot answered); the flow itself still sees the real values in its variables while it runs, and
those go with the conversation when retention deletes it. A redelivered reply shows the masked text.

The job runs in every server and worker process (deleting is idempotent), every ten minutes; it
reads the settings again each time, so a change made on one server reaches the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from runtime.audit import SYSTEM, AuditLog
from runtime.channels.store import INBOX
from runtime.engine import Runtime
from runtime.privacy import Privacy
from runtime.store import CONV

log = logging.getLogger(__name__)
EVERY = 600.0  # seconds between sweeps
BATCH = 500  # conversations erased per transaction
DAY = 86_400.0

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
PHONE = re.compile(r"(?<![\w+])\+?\d[\d ().-]{6,}\d\b")


class RetentionRow(SQLModel, table=True):
    __tablename__ = "retention"
    id: int = Field(default=1, primary_key=True)
    days: int = 0  # 0: keep conversations until erased
    mask: bool = False
    changed_at: float = 0.0


TABLE = RetentionRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Settings:
    days: int = 0
    mask: bool = False


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def mask(text: str) -> str:
    """Emails, card numbers (those passing the Luhn check) and phone numbers replaced by words."""

    def card(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group())
        return "[card number]" if _luhn(digits) else m.group()

    def phone(m: re.Match[str]) -> str:
        return "[phone number]" if len(re.sub(r"\D", "", m.group())) >= 8 else m.group()

    return PHONE.sub(phone, CARD.sub(card, EMAIL.sub("[email]", text)))


class Retention:
    def __init__(self, runtime: Runtime, audit: AuditLog | None = None, clock: Callable[[], float] = time.time) -> None:
        self.runtime, self.clock = runtime, clock
        self.engine: Engine = runtime.engine
        self.audit = audit or AuditLog(self.engine)
        SQLModel.metadata.create_all(self.engine, tables=[TABLE])
        self._task: asyncio.Task[None] | None = None

    def settings(self) -> Settings:
        with self.engine.connect() as conn:
            row = conn.execute(select(TABLE.c.days, TABLE.c.mask).where(TABLE.c.id == 1)).first()
        return Settings(int(row.days), bool(row.mask)) if row else Settings()

    def configure(self, days: int, masked: bool) -> Settings:
        """Keep conversations `days` days after their last message (0: until erased); mask or not."""
        if not 0 <= days <= 36_500:
            raise ValueError("Keep conversations between 1 and 36,500 days, or 0 to keep them until erased.")
        with self.engine.begin() as conn:
            conn.execute(delete(TABLE))
            conn.execute(TABLE.insert().values(id=1, days=days, mask=masked, changed_at=self.clock()))
        self.apply()
        return Settings(days, masked)

    def apply(self) -> Settings:
        """Set this process's transcript masking from the stored settings."""
        found = self.settings()
        self.runtime.store.mask = mask if found.mask else None
        return found

    async def sweep(self) -> dict[str, int]:
        """Delete the conversations idle longer than the retention period, and channel events as old."""
        found = self.apply()
        if not found.days:
            return {}
        cutoff = self.clock() - found.days * DAY
        privacy = Privacy(self.runtime)
        counts: dict[str, int] = {}
        while True:
            with self.engine.connect() as conn:
                ids = list(conn.execute(select(CONV.c.id).where(CONV.c.updated_at < cutoff).limit(BATCH)).scalars())
            states = [s for cid in ids if (s := self.runtime.store.load(cid)) is not None]
            if not states:
                break
            for what, n in (await asyncio.to_thread(privacy.erase_conversations, states)).items():
                counts[what] = counts.get(what, 0) + n
        with self.engine.begin() as conn:
            old = delete(INBOX).where(INBOX.c.received_at < cutoff, INBOX.c.status != "new")
            counts["channel events"] = counts.get("channel events", 0) + int(conn.execute(old).rowcount or 0)
        if any(counts.values()):
            self.audit.record(SYSTEM, "retention.sweep", detail={"days": found.days, **counts})
            log.info("retention: deleted what was older than %d days", found.days, extra={"counts": counts})
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

"""Wake-up timers for waiting conversations, as APScheduler jobs kept in the database.

A job names a conversation and the token of the wait it belongs to; nothing else. If the
conversation moved on before the job fires, the token no longer matches and the job does
nothing. Jobs live in the same database as everything else, so a restart loses none.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

Fire = Callable[[str, str], Awaitable[None]]  # (conversation id, token)
DEFAULT_MISFIRE_GRACE = 24 * 3600  # a wake-up more than a day late is dropped (the user's next message resumes it)

# APScheduler stores a textual reference to a module-level function; it finds the live
# Timers object through this table, by the name the Timers was given. The name is the
# database's (see `name_for`), so the process that starts after a restart, on the same
# database, is the one that picks the stored jobs up.
_LIVE: weakref.WeakValueDictionary[str, Timers] = weakref.WeakValueDictionary()


async def _fire(name: str, conversation_id: str, token: str) -> None:
    timers = _LIVE.get(name)
    if timers is None:
        log.error("timer fired with no runtime named %r (conversation %s)", name, conversation_id)
        return
    try:
        await timers.fire(conversation_id, token)
    except Exception:
        log.exception("wake-up failed (conversation %s)", conversation_id)


def job_id(conversation_id: str, token: str) -> str:
    return f"wake:{conversation_id}:{token}"


class Timers:
    """A persistent scheduler of wake-ups."""

    def __init__(
        self,
        engine: Engine,
        fire: Fire,
        *,
        name: str = "default",
        misfire_grace: int = DEFAULT_MISFIRE_GRACE,
    ) -> None:
        self.name = name
        self.fire = fire
        self.misfire_grace = misfire_grace
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")},
            executors={"default": AsyncIOExecutor()},
            job_defaults={"misfire_grace_time": misfire_grace, "coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        _LIVE[name] = self  # the newest runtime on a database handles its jobs

    @staticmethod
    def name_for(engine: Engine) -> str:
        """The timers' name for a database: its URL without the password, or a fresh one in memory."""
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            return f"memory:{uuid.uuid4().hex}"  # nothing outlives this process: never shared
        return url.render_as_string(hide_password=True)

    def start(self) -> None:
        """Start firing jobs (needs a running event loop)."""
        _LIVE[self.name] = self
        if not self.scheduler.running:
            self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if _LIVE.get(self.name) is self:
            del _LIVE[self.name]

    def schedule(self, conversation_id: str, token: str, at: datetime) -> None:
        """Wake the conversation at `at` (UTC) unless it has moved on by then."""
        self.scheduler.add_job(
            _fire,
            trigger="date",
            run_date=at,
            args=(self.name, conversation_id, token),
            id=job_id(conversation_id, token),
            replace_existing=True,
            misfire_grace_time=self.misfire_grace,
        )

    def cancel(self, conversation_id: str, token: str) -> None:
        """Forget a wake-up that is no longer wanted (harmless if it already fired)."""
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(job_id(conversation_id, token))

    def exists(self, conversation_id: str, token: str) -> bool:
        return self.scheduler.get_job(job_id(conversation_id, token)) is not None

    def pending(self) -> int:
        """How many wake-ups are scheduled."""
        return len(self.scheduler.get_jobs())


def at_after(seconds: float) -> datetime:
    """The UTC time `seconds` from now."""
    return datetime.now(UTC) + timedelta(seconds=seconds)

"""Conversations and their messages in the database.

One table holds the transcript, the outgoing messages and the inbound-event keys at once: an
inbound row carries (channel, account, event_id) under a unique constraint, so a redelivered
event fails to insert and is recognised as a duplicate in the same transaction that would have
saved its turn. The hot path runs SQLAlchemy Core statements compiled once for the engine's
dialect (see Prepared); the ORM is for the rest.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Index, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from nodes.api import Inbound, Outbound
from runtime.state import ConversationState


class ConversationRow(SQLModel, table=True):
    """A conversation: who, on which flow version, and where it stands (in `data`)."""

    __tablename__ = "conversations"
    id: str = Field(primary_key=True, max_length=64)
    flow_id: str = Field(index=True, max_length=100)
    version: int
    channel: str = Field(max_length=32)
    account: str = Field(max_length=100)
    user_id: str = Field(default="", index=True, max_length=200)
    status: str = Field(max_length=16)
    seq: int = 0
    data: str  # JSON of ConversationState.data()
    created_at: float
    updated_at: float


class MessageRow(SQLModel, table=True):
    """One message in or out. Outbound rows are the outbox; inbound rows are the dedupe keys."""

    __tablename__ = "messages"
    __table_args__ = (
        # partial: only inbound rows carry an event id, so replies cost no entry in it
        Index(
            "uq_inbound_event",
            "channel",
            "account",
            "event_id",
            unique=True,
            sqlite_where=text("event_id IS NOT NULL"),
            postgresql_where=text("event_id IS NOT NULL"),
        ),
        Index("ix_messages_conversation", "conversation_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(max_length=64)
    turn: str = Field(max_length=64)  # messages of one turn share it
    direction: str = Field(max_length=3)  # "in" or "out"
    channel: str = Field(max_length=32)
    account: str = Field(max_length=100)
    event_id: str | None = Field(default=None, max_length=200)
    node_id: str | None = Field(default=None, max_length=100)
    payload: str  # JSON of the message
    status: str = Field(default="stored", max_length=16)  # delivery state of outbound rows
    created_at: float


CONV = ConversationRow.__table__  # type: ignore[attr-defined]
MSG = MessageRow.__table__  # type: ignore[attr-defined]


class Conflict(Exception):
    """Another worker saved this conversation first; the turn must be redone on fresh state."""


class Duplicate(Exception):
    """This inbound event was handled before."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A transcript line as the API returns it."""

    id: int
    direction: str
    node_id: str | None
    payload: dict[str, Any]
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "direction": self.direction,
            "node_id": self.node_id,
            "at": datetime.fromtimestamp(self.created_at, UTC).isoformat(),
            **self.payload,
        }


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class Prepared:
    """A Core statement compiled once for the engine's dialect, run on the connection's DBAPI cursor.

    The connection, its pool and its transaction stay SQLAlchemy's; only the execution skips
    SQLAlchemy's per-call work (cache keys, execution contexts, result objects), which costs
    more than SQLite takes to run these small statements. Used for the per-turn statements only.
    """

    def __init__(self, engine: Engine, statement: Any) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self.sql = compiled.string
        self.positional = compiled.positiontup  # None for named paramstyles (psycopg)
        self.names = list(compiled.positiontup or compiled.params)

    def _params(self, values: dict[str, Any]) -> Any:
        if self.positional is not None:
            return tuple(values[n] for n in self.positional)
        return {n: values[n] for n in self.names}

    def run(self, conn: Connection, values: dict[str, Any]) -> Any:
        """Execute once; returns the DBAPI cursor (fetchone, rowcount)."""
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(self.sql, self._params(values))
        return cursor

    def run_many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(self.sql, [self._params(r) for r in rows])


class ConversationStore:
    """Reads and writes conversations and messages."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        SQLModel.metadata.create_all(engine, tables=[CONV, MSG])
        # statements are built once: building SQLAlchemy expressions per turn costs more than running them
        seen = (
            select(MSG.c.turn)
            .where(
                MSG.c.channel == CONV.c.channel,
                MSG.c.account == CONV.c.account,
                MSG.c.event_id == bindparam("event_id"),
            )
            .scalar_subquery()
        )
        load = select(
            CONV.c.flow_id,
            CONV.c.version,
            CONV.c.channel,
            CONV.c.account,
            CONV.c.user_id,
            CONV.c.status,
            CONV.c.seq,
            CONV.c.data,
            seen,
        ).where(CONV.c.id == bindparam("cid"))
        self._load = Prepared(engine, load)
        self._insert_conv = Prepared(engine, insert(CONV))
        self._update_conv = Prepared(
            engine,
            (
                update(CONV)
                .where(CONV.c.id == bindparam("cid"), CONV.c.seq == bindparam("expected"))
                .values(
                    status=bindparam("status"),
                    seq=bindparam("new_seq"),
                    data=bindparam("data"),
                    updated_at=bindparam("now"),
                    version=bindparam("version"),
                )
            ),
        )
        self._insert_msg = Prepared(
            engine, insert(MSG).values({c.name: bindparam(c.name) for c in MSG.c if c.name != "id"})
        )
        self._replies = (
            select(MSG.c.payload)
            .where(MSG.c.conversation_id == bindparam("cid"), MSG.c.turn == bindparam("turn"), MSG.c.direction == "out")
            .order_by(MSG.c.id)
        )

    def load(self, conversation_id: str, event_id: str | None = None) -> ConversationState | None:
        """The conversation's saved state, or None. With `event_id`, `state.seen_turn` tells
        whether that inbound event was handled before (and by which turn)."""
        with self.engine.connect() as conn:
            row = self._load.run(conn, {"cid": conversation_id, "event_id": event_id}).fetchone()
        if row is None:
            return None
        state = ConversationState(
            id=conversation_id,
            flow_id=row[0],
            version=row[1],
            channel=row[2],
            account=row[3],
            user_id=row[4],
            status=row[5],
            seq=row[6],
        )
        state.load_data(json.loads(row[7]))
        state.seen_turn = row[8]
        return state

    def turn_of_event(self, channel: str, account: str, event_id: str) -> str | None:
        """The turn that already handled this inbound event, if any."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(MSG.c.turn).where(MSG.c.channel == channel, MSG.c.account == account, MSG.c.event_id == event_id)
            ).scalar()

    def replies(self, conversation_id: str, turn: str) -> list[Outbound]:
        """The messages a turn sent."""
        with self.engine.connect() as conn:
            rows = conn.execute(self._replies, {"cid": conversation_id, "turn": turn}).all()
        return [Outbound.from_json(json.loads(r[0])) for r in rows]

    def save_turn(
        self,
        state: ConversationState,
        *,
        turn: str,
        inbound: Inbound | None,
        outbound: Sequence[tuple[str | None, Outbound]],
    ) -> None:
        """Save the state, the inbound message and the replies in one transaction.

        Raises Duplicate if the inbound event was saved before, Conflict if the conversation
        changed since it was loaded (state.seq is the seq it was loaded with).
        """
        now = time.time()
        cid, channel, account = state.id, state.channel, state.account
        rows: list[dict[str, Any]] = []
        if inbound is not None:
            rows.append(
                {
                    "conversation_id": cid,
                    "turn": turn,
                    "channel": channel,
                    "account": account,
                    "direction": "in",
                    "event_id": inbound.event_id,
                    "node_id": None,
                    "payload": _dumps(inbound.to_json()),
                    "status": "received",
                    "created_at": now,
                }
            )
        for node_id, msg in outbound:
            rows.append(
                {
                    "conversation_id": cid,
                    "turn": turn,
                    "channel": channel,
                    "account": account,
                    "direction": "out",
                    "event_id": None,
                    "node_id": node_id,
                    "payload": _dumps(msg.to_json()),
                    "status": "stored",
                    "created_at": now,
                }
            )
        data = _dumps(state.data())
        expected = state.seq
        unique_violation = self.engine.dialect.dbapi.IntegrityError  # type: ignore[union-attr]
        with self.engine.begin() as conn:
            if expected == 0:
                try:
                    self._insert_conv.run(
                        conn,
                        {
                            "id": cid,
                            "flow_id": state.flow_id,
                            "version": state.version,
                            "channel": channel,
                            "account": account,
                            "user_id": state.user_id,
                            "status": state.status,
                            "seq": 1,
                            "data": data,
                            "created_at": now,
                            "updated_at": now,
                        },
                    )
                except (IntegrityError, unique_violation):
                    raise Conflict(cid) from None
            else:
                done = self._update_conv.run(
                    conn,
                    {
                        "cid": cid,
                        "expected": expected,
                        "status": state.status,
                        "new_seq": expected + 1,
                        "data": data,
                        "now": now,
                        "version": state.version,
                    },
                )
                if done.rowcount != 1:
                    raise Conflict(cid)
            if rows:
                try:
                    self._insert_msg.run_many(conn, rows)
                except (IntegrityError, unique_violation):  # the unique inbound key: handled by another worker
                    raise Duplicate(inbound.event_id if inbound else "") from None
        state.seq = expected + 1

    def messages(self, conversation_id: str, after: int = 0, limit: int = 500) -> list[StoredMessage]:
        """The transcript after message id `after`, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(MSG.c.id, MSG.c.direction, MSG.c.node_id, MSG.c.payload, MSG.c.created_at)
                .where(MSG.c.conversation_id == conversation_id, MSG.c.id > after)
                .order_by(MSG.c.id)
                .limit(limit)
            ).all()
        return [StoredMessage(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def sleeping(self) -> list[ConversationState]:
        """Conversations that wait for a timer (to re-arm timers after a restart)."""
        with self.engine.connect() as conn:
            ids = conn.execute(select(CONV.c.id).where(CONV.c.status.in_(("sleeping", "waiting")))).scalars().all()
        found = [self.load(i) for i in ids]
        return [s for s in found if s is not None and s.wake_token]

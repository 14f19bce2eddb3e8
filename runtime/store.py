"""Conversations and their turns in the database.

A turn is one row: what the person said (if anything) and everything the bot said back, in order.
The row is the transcript and the inbound-event key at once: it carries (channel, account,
event_id) under a unique index, so a redelivered event fails to insert and is recognised as a
duplicate in the same transaction that would have saved its turn. One row per turn, keyed by
(conversation, sequence number), is what keeps a saved turn cheap: each extra row and index entry
costs about as much as the state row itself. The per-turn statements are compiled once for the
engine's dialect (see Prepared); the ORM is for the rest.

Masking (a workspace's choice, see runtime.retention) applies to the turn row only: it is what is
kept for later reading (the transcript API, the conversations page, exports). What a person
receives is never masked. When masking changed a turn, the turn as it was said is kept beside it in
`turns_as_said` for AS_SAID_SECONDS, for those who repeat it: the web widget, a redelivered API
event, a language model's history. Pages and exports never read it; retention's sweep deletes it
when it is older, and erasure with its conversation.

What is delivered is written in the same transaction: a store's `outbox` (the channels' outbox, see
runtime.channels.outbox) is handed the turn's messages as said and adds its rows on the turn's
connection, so a saved turn always has its messages queued and an unsaved one never has.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Index, and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select
from sqlmodel import Field, SQLModel

from flows.db import autocommit, create_tables
from nodes.api import Inbound, Outbound
from runtime.masking import mask
from runtime.state import ConversationState

LINES_PER_TURN = 10_000  # transcript line ids are seq * LINES_PER_TURN + position in the turn
# How long a masked turn is also kept as it was said: a day, the usual window in which an API
# client retries a request (Stripe keeps idempotency keys as long), and in which a widget that is
# reloaded shows the visitor the real text; older lines come back as the transcript keeps them.
AS_SAID_SECONDS = 86_400.0


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


class TurnRow(SQLModel, table=True):
    """One turn: the inbound message (if any) and the bot's messages, in order."""

    __tablename__ = "turns"
    __table_args__ = (
        # partial: only turns started by an inbound event with an id carry an entry
        Index(
            "uq_inbound_event",
            "channel",
            "account",
            "event_id",
            unique=True,
            sqlite_where=text("event_id IS NOT NULL"),
            postgresql_where=text("event_id IS NOT NULL"),
        ),
        {"sqlite_with_rowid": False},  # the table is its own (conversation, seq) index
    )
    conversation_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)  # the conversation's sequence number after this turn
    channel: str = Field(max_length=32)
    account: str = Field(max_length=100)
    event_id: str | None = Field(default=None, max_length=200)
    node_id: str | None = Field(default=None, max_length=100)  # the node the inbound message answered
    inbound: str | None = None  # JSON of the inbound message
    outbound: str  # JSON list of [node id, message]
    status: str = Field(default="stored", max_length=16)  # unused (the outbox is written with the turn)
    created_at: float


class AsSaidRow(SQLModel, table=True):
    """A masked turn as it was said (unmasked), kept for AS_SAID_SECONDS for delivery only."""

    __tablename__ = "turns_as_said"
    __table_args__ = ({"sqlite_with_rowid": False},)
    conversation_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    inbound: str | None = None  # JSON of the inbound message, as the person sent it
    outbound: str  # JSON list of [node id, message], as sent
    created_at: float = Field(index=True)


CONV = ConversationRow.__table__  # type: ignore[attr-defined]
TURN = TurnRow.__table__  # type: ignore[attr-defined]
AS_SAID = AsSaidRow.__table__  # type: ignore[attr-defined]
_SAID_JOIN = TURN.outerjoin(
    AS_SAID, and_(AS_SAID.c.conversation_id == TURN.c.conversation_id, AS_SAID.c.seq == TURN.c.seq)
)


class OutboxWriter(Protocol):
    """Adds a saved turn's messages (as said) to what is delivered, in the turn's transaction."""

    def __call__(self, conn: Connection, state: ConversationState, turn: int, messages: list[dict[str, Any]]) -> None:
        """Queue the messages (nothing when the conversation is not on a delivered channel)."""


Also = Callable[[Connection], None]  # more to write in a turn's transaction (see save_turn)


class Conflict(Exception):
    """Another worker saved this conversation first; the turn must be redone on fresh state."""


class Duplicate(Exception):
    """This inbound event was handled before."""


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A conversation as a list shows it."""

    id: str
    flow_id: str
    version: int
    channel: str
    user_id: str
    status: str
    created_at: float
    updated_at: float


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


# ASCII output: the C encoder is fastest this way, and this JSON is read by programs only
_dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode


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
        # the values the statement carries itself (status == "new"), under the names it gave them
        self.carried = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}

    def _params(self, values: dict[str, Any]) -> Any:
        if self.carried:
            values = {**self.carried, **values}
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


STATE_COLUMNS = (
    CONV.c.flow_id,
    CONV.c.version,
    CONV.c.channel,
    CONV.c.account,
    CONV.c.user_id,
    CONV.c.status,
    CONV.c.seq,
    CONV.c.data,
)


def _state(conversation_id: str, row: Any) -> ConversationState:
    """A conversation's state from the STATE_COLUMNS of its row."""
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
    return state


class ConversationStore:
    """Reads and writes conversations and their turns."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.quick = autocommit(engine)  # the per-turn reads: one round trip each
        self.masked: Callable[[str], bool] | None = None  # by flow id: mask the transcript's texts (retention)
        self.outbox: OutboxWriter | None = None  # queues what a turn sends, in its transaction (the channels)
        create_tables(engine, [CONV, TURN, AS_SAID])
        seen = (
            select(TURN.c.seq)
            .where(
                TURN.c.conversation_id == CONV.c.id,  # a redelivery belongs to the same conversation
                TURN.c.channel == CONV.c.channel,
                TURN.c.account == CONV.c.account,
                TURN.c.event_id == bindparam("event_id"),
            )
            .scalar_subquery()
        )
        load = select(*STATE_COLUMNS, seen).where(CONV.c.id == bindparam("cid"))
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
        self._insert_turn = Prepared(engine, insert(TURN).values({c.name: bindparam(c.name) for c in TURN.c}))
        self._insert_said = Prepared(engine, insert(AS_SAID).values({c.name: bindparam(c.name) for c in AS_SAID.c}))

    def load(self, conversation_id: str, event_id: str | None = None) -> ConversationState | None:
        """The conversation's saved state, or None. With `event_id`, `state.seen_turn` tells
        whether that inbound event was handled before (and by which turn)."""
        with self.quick.connect() as conn:
            row = self._load.run(conn, {"cid": conversation_id, "event_id": event_id}).fetchone()
        if row is None:
            return None
        state = _state(conversation_id, row)
        state.seen_turn = row[8]
        return state

    def running(self, flow_id: str, channel: str, account: str, *, not_version: int) -> list[ConversationState]:
        """The conversations of a channel account on this flow, still running, on another version."""
        query = select(CONV.c.id, *STATE_COLUMNS).where(
            CONV.c.flow_id == flow_id,
            CONV.c.channel == channel,
            CONV.c.account == account,
            CONV.c.status.in_(("waiting", "sleeping")),
            CONV.c.version != not_version,
        )
        with self.engine.connect() as conn:
            return [_state(row[0], row[1:]) for row in conn.execute(query)]

    def move(self, state: ConversationState, version: int) -> bool:
        """Put a running conversation on another version of its flow, where it stands; False if it
        changed since it was read (a turn in between: it stays where it is). The seq is bumped, so
        a runtime holding the old state finds the conflict on its next save and reads it again."""
        state.version = state.at_version = version
        with self.engine.begin() as conn:
            done = conn.execute(
                update(CONV)
                .where(CONV.c.id == state.id, CONV.c.seq == state.seq)
                .values(version=version, seq=state.seq + 1, data=_dumps(state.data()), updated_at=time.time())
            ).rowcount
        return bool(done)

    def turn_of_event(self, conversation_id: str, channel: str, account: str, event_id: str) -> int | None:
        """The turn of this conversation that already handled this inbound event, if any."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(TURN.c.seq).where(
                    TURN.c.conversation_id == conversation_id,
                    TURN.c.channel == channel,
                    TURN.c.account == account,
                    TURN.c.event_id == event_id,
                )
            ).scalar()

    def replies(self, conversation_id: str, turn: int) -> list[Outbound]:
        """The messages a turn sent, as they were sent (to answer a redelivered event): unmasked while
        the turn is kept as said, then as the transcript keeps them."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(func.coalesce(AS_SAID.c.outbound, TURN.c.outbound))
                .select_from(_SAID_JOIN)
                .where(TURN.c.conversation_id == conversation_id, TURN.c.seq == turn)
            ).scalar()
        return [Outbound.from_json(m) for _, m in json.loads(found)] if found else []

    def save_turn(
        self,
        state: ConversationState,
        *,
        inbound: Inbound | None,
        outbound: Sequence[tuple[str | None, Outbound]],
        answered: str | None = None,
        also: Also | None = None,
    ) -> int:
        """Save the state and the turn (inbound and replies) in one transaction; return the turn's number.
        `also` writes more in it, last (the channels mark the inbound event handled).

        Raises Duplicate if the inbound event was saved before, Conflict if the conversation
        changed since it was loaded (state.seq is the seq it was loaded with).
        """
        now = time.time()
        expected = state.seq
        turn = expected + 1
        data = _dumps(state.data())
        masking = self.masked is not None and self.masked(state.flow_id)
        said_in = _dumps(inbound.to_json()) if inbound else None
        said_out = _dumps([[node, m.to_json()] for node, m in outbound])
        kept_in = _dumps(_masking(inbound.to_json())) if inbound and masking else said_in
        kept_out = _dumps([[node, _masking(m.to_json())] for node, m in outbound]) if masking else said_out
        unique_violation = self.engine.dialect.dbapi.IntegrityError  # type: ignore[union-attr]
        with self.engine.begin() as conn:
            if expected == 0:
                try:
                    self._insert_conv.run(
                        conn,
                        {
                            "id": state.id,
                            "flow_id": state.flow_id,
                            "version": state.version,
                            "channel": state.channel,
                            "account": state.account,
                            "user_id": state.user_id,
                            "status": state.status,
                            "seq": turn,
                            "data": data,
                            "created_at": now,
                            "updated_at": now,
                        },
                    )
                except (IntegrityError, unique_violation):
                    raise Conflict(state.id) from None
            else:
                done = self._update_conv.run(
                    conn,
                    {
                        "cid": state.id,
                        "expected": expected,
                        "status": state.status,
                        "new_seq": turn,
                        "data": data,
                        "now": now,
                        "version": state.version,  # the flow never changes, so its index is not touched
                    },
                )
                if done.rowcount != 1:
                    raise Conflict(state.id)
            try:
                self._insert_turn.run(
                    conn,
                    {
                        "conversation_id": state.id,
                        "seq": turn,
                        "channel": state.channel,
                        "account": state.account,
                        "event_id": inbound.event_id if inbound else None,
                        "node_id": answered,
                        "inbound": kept_in,
                        "outbound": kept_out,
                        "status": "stored",
                        "created_at": now,
                    },
                )
            except (IntegrityError, unique_violation):  # the unique inbound key: handled by another worker
                raise Duplicate(inbound.event_id if inbound else "") from None
            if kept_in != said_in or kept_out != said_out:  # masking changed it: keep it as said, for delivery
                self._insert_said.run(
                    conn,
                    {
                        "conversation_id": state.id,
                        "seq": turn,
                        "inbound": said_in,
                        "outbound": said_out,
                        "created_at": now,
                    },
                )
            if self.outbox is not None and outbound:
                self.outbox(conn, state, turn, [m.to_json() for _, m in outbound])
            if also is not None:  # last: nothing after it can fail but the commit
                also(conn)
        state.seq = turn
        return turn

    def messages(
        self, conversation_id: str, after: int = 0, limit: int = 500, *, as_said: bool = False
    ) -> list[StoredMessage]:
        """The transcript after line id `after`, oldest first (inbound and outbound lines), as it is
        kept (masked, when the workspace masks). `as_said`: as the person said and received it while
        that is kept (AS_SAID_SECONDS), for the web widget that shows it to them; never for a page."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                _turns(as_said)
                .add_columns(TURN.c.node_id, TURN.c.created_at)
                .where(TURN.c.conversation_id == conversation_id, TURN.c.seq >= after // LINES_PER_TURN)
                .order_by(TURN.c.seq)
            )
            lines: list[StoredMessage] = []
            for seq, inbound, outbound, node_id, at in rows:
                base = seq * LINES_PER_TURN
                if inbound is not None and base > after:
                    lines.append(StoredMessage(base, "in", node_id, json.loads(inbound), at))
                for n, (node, message) in enumerate(json.loads(outbound), 1):
                    if base + n > after:
                        lines.append(StoredMessage(base + n, "out", node, message, at))
                if len(lines) >= limit:
                    break
        return lines[:limit]

    def recent_lines(self, conversation_id: str, count: int) -> list[tuple[str, str]]:
        """The last `count` text lines of a conversation as (role, text), oldest first: the history
        a language model is given ("user" for what the person sent, "assistant" for the bot), as it
        was said while that is kept (a model shown "[email]" would answer with it)."""
        if count <= 0:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                _turns(as_said=True)
                .where(TURN.c.conversation_id == conversation_id)
                .order_by(TURN.c.seq.desc())
                .limit(count)
            ).all()
        lines: list[tuple[str, str]] = []
        for _seq, inbound, outbound in reversed(rows):
            said = json.loads(inbound) if inbound else {}
            if said.get("text"):
                lines.append(("user", str(said["text"])))
            lines += [("assistant", str(m["text"])) for _, m in json.loads(outbound) if m.get("text")]
        return lines[-count:]

    def as_kept(self, flow_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A message (JSON) as the transcript keeps it: masked if the flow's workspace masks (for exports
        of what is still waiting to be sent)."""
        return _masking(message) if self.masked is not None and self.masked(flow_id) else message

    def forget_as_said(self, before: float) -> int:
        """Delete the turns kept as said that were saved before `before` (retention's sweep); how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(AS_SAID).where(AS_SAID.c.created_at < before)).rowcount or 0)

    def recent(self, flow_ids: Sequence[str], limit: int = 100, status: str = "") -> list[ConversationSummary]:
        """The conversations of these flows, last active first (for the conversations page and its export)."""
        cols = (CONV.c.id, CONV.c.flow_id, CONV.c.version, CONV.c.channel, CONV.c.user_id, CONV.c.status)
        query = select(*cols, CONV.c.created_at, CONV.c.updated_at).where(CONV.c.flow_id.in_(list(flow_ids)))
        if status:
            query = query.where(CONV.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(CONV.c.updated_at.desc()).limit(max(1, min(limit, 10_000)))).all()
        return [ConversationSummary(*row) for row in rows]

    def started_since(self, flow_ids: Sequence[str], since: float) -> dict[str, int]:
        """How many conversations each of these flows started at or after `since` (the flow list)."""
        query = (
            select(CONV.c.flow_id, func.count())
            .where(CONV.c.flow_id.in_(list(flow_ids)), CONV.c.created_at >= since)
            .group_by(CONV.c.flow_id)
        )
        with self.engine.connect() as conn:
            return {flow_id: int(count) for flow_id, count in conn.execute(query).all()}

    def sleeping(self) -> list[ConversationState]:
        """Conversations that wait for a timer (to re-arm timers after a restart)."""
        with self.engine.connect() as conn:
            ids = conn.execute(select(CONV.c.id).where(CONV.c.status.in_(("sleeping", "waiting")))).scalars().all()
        found = [self.load(i) for i in ids]
        return [s for s in found if s is not None and s.wake_token]


def _turns(as_said: bool) -> Select[Any]:
    """(seq, inbound, outbound) of turns: as kept, or as said where a masked turn is kept as said."""
    if not as_said:
        return select(TURN.c.seq, TURN.c.inbound, TURN.c.outbound)
    # a turn kept as said without an inbound message had none: its turn row has none either
    inbound = func.coalesce(AS_SAID.c.inbound, TURN.c.inbound)
    outbound = func.coalesce(AS_SAID.c.outbound, TURN.c.outbound)
    return select(TURN.c.seq, inbound, outbound).select_from(_SAID_JOIN)


def _masking(message: dict[str, Any]) -> dict[str, Any]:
    if isinstance(message.get("text"), str):
        return {**message, "text": mask(message["text"])}
    return message

"""What the channels keep in the database: deployments, the inbox of webhook events, which chat
each conversation talks to, and the outbox of messages to deliver.

Inbox: a webhook event is stored under a unique (channel, account, event id) before the platform
is answered, so a redelivery (Telegram `update_id`, Slack `event_id`) is recognised even after a
restart, and nothing acknowledged is lost. Each event carries its chat's claim key, so a worker
claims a chat (see claims.py) and handles its events in the order they came.

Outbox: one row per message, unique per (conversation, turn, position), written in the transaction
that saves the turn (see outbox.py), delivered in order per conversation. An outbox row holds the
message as it is sent, never masked; it is deleted once sent (the transcript keeps the turn), so
the real text of a masked conversation stays only as long as it is waiting or dead-lettered.

Chats: a chat's conversation id is keyed with the installation's secret (see chat_ids), so knowing
a Telegram chat id does not name its conversation.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Row,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from flows.db import add_missing, autocommit, create_tables
from nodes.api import Outbound
from runtime.channels.chat_ids import ChatIds, legacy_id
from runtime.channels.secretbox import SecretBox
from runtime.store import Prepared


class DeploymentRow(SQLModel, table=True):
    """A published flow version answering on one channel account."""

    __tablename__ = "deployments"
    channel: str = Field(primary_key=True, max_length=32)
    account: str = Field(primary_key=True, max_length=100)
    flow_id: str = Field(max_length=100)
    version: int
    credentials: str  # sealed JSON (SecretBox): tokens, signing secrets
    paused: bool = False
    api_base: str = Field(default="", max_length=500)  # the platform's API address ("" = the public one)
    last_event_at: float | None = None
    last_error: str = Field(default="", max_length=500)
    created_at: float


class InboxRow(SQLModel, table=True):
    """A webhook event received and acknowledged, to be handled once."""

    __tablename__ = "channel_inbox"
    __table_args__ = (
        UniqueConstraint("channel", "account", "event_id", name="uq_inbox_event"),
        # what the workers scan: the events not handled yet, by chat
        Index(
            "ix_inbox_new",
            "chat_key",
            "id",
            sqlite_where=text("status = 'new'"),
            postgresql_where=text("status = 'new'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    account: str = Field(max_length=100)
    event_id: str = Field(max_length=200)
    chat_key: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))  # claims.key
    event: str  # JSON of the normalized event (ChannelEvent fields, raw included)
    status: str = Field(default="new", max_length=16, index=True)  # new, done, failed
    error: str = Field(default="", max_length=500)
    received_at: float


class ChatRow(SQLModel, table=True):
    """Which chat on which channel account a conversation talks to."""

    __tablename__ = "channel_chats"
    conversation_id: str = Field(primary_key=True, max_length=64)
    channel: str = Field(max_length=32)
    account: str = Field(max_length=100)
    chat: str = Field(max_length=200)
    offered: str = ""  # JSON of the buttons last shown as a numbered list, to read "2" as the second
    paced_until: float = 0.0  # the chat's next message is not sent before (the channel's pace)


class OutboxRow(SQLModel, table=True):
    """One message to deliver; in order per conversation."""

    __tablename__ = "channel_outbox"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", "n", name="uq_outbox_message"),
        Index("ix_outbox_due", "status", "next_at"),
        Index("ix_outbox_conversation", "conversation_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(max_length=64)
    seq: int  # the turn
    n: int  # its position in the turn
    channel: str = Field(max_length=32)
    account: str = Field(max_length=100)
    chat: str = Field(max_length=200)
    message: str  # JSON of the Outbound, as it is sent (never masked)
    status: str = Field(default="pending", max_length=16)  # pending, dead (a sent message is deleted)
    attempts: int = 0
    next_at: float = 0.0
    last_error: str = Field(default="", max_length=500)
    sending: bool = False  # handed to the platform, not known to be accepted (a crash here may send it twice)
    created_at: float
    sent_at: float | None = None  # unused: a sent message is deleted (kept for databases made before)


class LeaseRow(SQLModel, table=True):
    """On a database without advisory locks (SQLite): which worker process does the channels' work
    now (one at a time; another takes over when its lease runs out)."""

    __tablename__ = "channel_lease"
    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=200)
    until: float


DEPLOY: Table = DeploymentRow.__table__  # type: ignore[attr-defined]
INBOX: Table = InboxRow.__table__  # type: ignore[attr-defined]
CHATS: Table = ChatRow.__table__  # type: ignore[attr-defined]
OUTBOX: Table = OutboxRow.__table__  # type: ignore[attr-defined]
LEASE: Table = LeaseRow.__table__  # type: ignore[attr-defined]
TABLES = [DEPLOY, INBOX, CHATS, OUTBOX, LEASE]


INBOX_CHANNEL = "chatloom_inbox"  # PostgreSQL NOTIFY channels that wake the workers
OUTBOX_CHANNEL = "chatloom_outbox"
BATCH = 500  # webhook events stored by one statement at most
INSERTED = ("channel", "account", "event_id", "chat_key", "event", "status", "error", "received_at")
OUTBOX_COLUMNS = ("conversation_id", "seq", "n", "channel", "account", "chat", "message", "status")


@dataclass(frozen=True, slots=True)
class Deployment:
    channel: str
    account: str
    flow_id: str
    version: int
    credentials: dict[str, Any]
    paused: bool
    api_base: str


class Query(Prepared):
    """A SELECT compiled once (see Prepared), its rows as named tuples (row.id, row.chat …)."""

    def __init__(self, engine: Engine, statement: Any) -> None:
        super().__init__(engine, statement)
        self.shape = namedtuple("Found", [c.key for c in statement.exported_columns])  # type: ignore[misc]

    def all(self, engine: Engine, values: dict[str, Any]) -> list[Any]:
        with engine.connect() as c:
            return [self.shape(*row) for row in self.run(c, values).fetchall()]


class ChannelStore:
    """The channels' tables, and the moves between them."""

    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self.engine, self.box = engine, box
        self.quick = autocommit(engine)  # the hot reads and single-statement writes: one round trip each
        create_tables(engine, TABLES)
        for table in TABLES:  # columns and indexes added since a database was made
            add_missing(engine, table)
        values: dict[str, Any] = {c: bindparam(c) for c in INSERTED}
        self._insert_event = Prepared(engine, INBOX.insert().values(values))
        self._insert_sqlite: Prepared | None = None
        if engine.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            unique = ["channel", "account", "event_id"]
            self._insert_sqlite = Prepared(
                engine, sqlite_insert(INBOX).values(values).on_conflict_do_nothing(index_elements=unique)
            )
        self._batches: dict[int, Prepared] = {}
        self.ids = ChatIds(engine)
        self._compile_hot_path(engine)
        self.delivered: frozenset[str] = frozenset()  # the channels whose conversations are sent through the outbox

    def _compile_hot_path(self, engine: Engine) -> None:
        """The statements every event and every message runs, compiled once (see Prepared)."""
        limit: Any = bindparam("limit")
        self._chats_waiting = Query(
            engine,
            select(INBOX.c.chat_key)
            .where(INBOX.c.status == "new")
            .group_by(INBOX.c.chat_key)
            .order_by(func.min(INBOX.c.id))
            .limit(limit),
        )
        self._events_of = Query(
            engine,
            select(INBOX)
            .where(INBOX.c.chat_key == bindparam("key"), INBOX.c.status == "new")
            .order_by(INBOX.c.id)
            .limit(limit),
        )
        self._finish = Prepared(
            engine,
            update(INBOX)
            .where(INBOX.c.id == bindparam("row_id"))
            .values(status=bindparam("status"), error=bindparam("error")),
        )
        self._chats = Query(
            engine, select(CHATS).where(CHATS.c.conversation_id.in_([bindparam("keyed"), bindparam("legacy")]))
        )
        self._conversations_due = Query(
            engine,
            select(OUTBOX.c.conversation_id)
            .where(OUTBOX.c.status == "pending", OUTBOX.c.next_at <= bindparam("now"))
            .group_by(OUTBOX.c.conversation_id)
            .order_by(func.min(OUTBOX.c.id))
            .limit(limit),
        )
        # the conversation's first waiting message, if it is due, marked as handed to the platform:
        # one statement on PostgreSQL; SQLite's RETURNING cannot name the CTE, so it reads then marks
        waiting = (OUTBOX.c.conversation_id == bindparam("cid"), OUTBOX.c.status == "pending")
        due = OUTBOX.c.next_at <= bindparam("now")
        row_id: Any = bindparam("row_id")
        if engine.dialect.name == "postgresql":
            took = select(OUTBOX.c.id, OUTBOX.c.sending).where(*waiting).order_by(OUTBOX.c.id).limit(1).cte("first")
            marked = update(OUTBOX).where(OUTBOX.c.id == took.c.id, due).values(sending=True)
            self._take_next = Query(engine, marked.returning(*OUTBOX.c, took.c.sending.label("was_sending")))
        else:
            first = select(OUTBOX.c.id).where(*waiting).order_by(OUTBOX.c.id).limit(1).scalar_subquery()
            found = select(*OUTBOX.c, OUTBOX.c.sending.label("was_sending")).where(OUTBOX.c.id == first, due)
            self._take_next = Query(engine, found)
        self._mark = Prepared(engine, update(OUTBOX).where(OUTBOX.c.id == row_id).values(sending=bindparam("on")))
        self._sent = Prepared(engine, delete(OUTBOX).where(OUTBOX.c.id == bindparam("row_id")))
        cid: Any = bindparam("cid")
        until: Any = bindparam("until")
        self._hold_waiting = Prepared(
            engine,
            update(OUTBOX)
            .where(OUTBOX.c.conversation_id == cid, OUTBOX.c.status == "pending", OUTBOX.c.next_at < until)
            .values(next_at=until),
        )
        hold_chat = update(CHATS).where(CHATS.c.conversation_id == cid).values(paced_until=until)
        self._hold_chat = Prepared(engine, hold_chat)

    # deployments

    def deploy(
        self,
        channel: str,
        account: str,
        flow_id: str,
        version: int,
        credentials: dict[str, Any],
        *,
        api_base: str = "",
    ) -> None:
        """Bind a published version to a channel account (replacing what was bound there)."""
        with Session(self.engine) as s:
            row = s.get(DeploymentRow, (channel, account))
            if row is None:
                row = DeploymentRow(
                    channel=channel,
                    account=account,
                    flow_id=flow_id,
                    version=version,
                    credentials="",
                    created_at=time.time(),
                )
            row.flow_id, row.version, row.api_base = flow_id, version, api_base
            row.credentials = self.box.seal(credentials)
            s.add(row)
            s.commit()

    def deployment(self, channel: str, account: str) -> Deployment | None:
        with Session(self.engine) as s:
            row = s.get(DeploymentRow, (channel, account))
            if row is None:
                return None
            return Deployment(
                row.channel,
                row.account,
                row.flow_id,
                row.version,
                self.box.open(row.credentials),
                row.paused,
                row.api_base,
            )

    def deployments(self) -> list[Row[Any]]:
        with self.engine.connect() as c:
            return list(c.execute(select(DEPLOY).order_by(DEPLOY.c.channel, DEPLOY.c.account)))

    def set_paused(self, channel: str, account: str, paused: bool) -> None:
        with Session(self.engine) as s:
            row = s.get(DeploymentRow, (channel, account))
            if row is not None:
                row.paused = paused
                s.add(row)
                s.commit()

    def note(self, channel: str, account: str, *, event: bool = False, error: str | None = None) -> None:
        """Record a channel's health: an event received, or the last error (never a secret)."""
        values: dict[str, Any] = {}
        if event:
            values["last_event_at"] = time.time()
        if error is not None:
            values["last_error"] = error[:500]
        if values:
            with self.engine.begin() as c:
                c.execute(
                    update(DEPLOY).where(DEPLOY.c.channel == channel, DEPLOY.c.account == account).values(**values)
                )

    # the worker's lease

    def lease(self, holder: str, ttl: float, name: str = "worker") -> bool:
        """Take or renew the lease for `ttl` seconds; False while another holder's lease runs."""
        now = time.time()
        with self.engine.begin() as c:
            taken = c.execute(
                update(LEASE)
                .where(LEASE.c.name == name, (LEASE.c.holder == holder) | (LEASE.c.until < now))
                .values(holder=holder, until=now + ttl)
            ).rowcount
            if taken:
                return True
            if c.execute(select(LEASE.c.name).where(LEASE.c.name == name)).first() is not None:
                return False
        try:
            with self.engine.begin() as c:
                c.execute(LEASE.insert().values(name=name, holder=holder, until=now + ttl))
        except IntegrityError:
            return False  # another took it first
        return True

    def release(self, holder: str, name: str = "worker") -> None:
        with self.engine.begin() as c:
            c.execute(delete(LEASE).where(LEASE.c.name == name, LEASE.c.holder == holder))

    # inbox

    def receive_many(self, events: list[tuple[str, str, str, int, dict[str, Any]]]) -> list[bool]:
        """Store webhook events (channel, account, event id, chat key, event) in one transaction:
        for each, False if it was received before (a redelivery, also earlier in the same list).

        The hot path of every webhook: the webhook requests that arrive together share one commit
        (see inbox.GroupCommit), and the insert is compiled once and run on the DBAPI cursor. On
        PostgreSQL the commit also wakes the workers (NOTIFY)."""
        now = time.time()
        rows = [
            {
                "channel": channel,
                "account": account,
                "event_id": event_id,
                "chat_key": key,
                "event": json.dumps(event),
                "status": "new",
                "error": "",
                "received_at": now,
            }
            for channel, account, event_id, key, event in events
        ]
        if self._insert_sqlite is not None:  # in-process: one compiled statement per event is fastest
            with self.engine.begin() as c:
                return [self._insert_sqlite.run(c, row).rowcount == 1 for row in rows]
        if self.engine.dialect.name != "postgresql":  # a database without ON CONFLICT: a transaction per event
            return [self._insert_one(row) for row in rows]
        stored: set[tuple[str, str, str]] = set()
        alone = len(rows) <= BATCH  # one statement, which is a transaction of its own
        with (self.quick if alone else self.engine).begin() as c:
            for at in range(0, len(rows), BATCH):  # one statement for many rows (and the workers' wake-up)
                chunk = rows[at : at + BATCH]
                values = {f"{col}_{n}": row[col] for n, row in enumerate(chunk) for col in INSERTED}
                stored.update(tuple(found) for found in self._insert_batch(len(chunk)).run(c, values).fetchall())
        fresh = []
        for row in rows:  # an event twice in the same batch is new only the first time
            key = (row["channel"], row["account"], row["event_id"])
            fresh.append(key in stored)
            stored.discard(key)
        return fresh

    def _insert_batch(self, count: int) -> Prepared:
        """INSERT of `count` events at once, those received before left out (ON CONFLICT DO
        NOTHING); it returns the keys of the rows it stored. Compiled once for each count. PostgreSQL
        only, where each statement is a round trip (SQLite runs one per event: faster there)."""
        found = self._batches.get(count)
        if found is None:
            rows = ", ".join("(" + ", ".join(f":{col}_{n}" for col in INSERTED) + ")" for n in range(count))
            insert = (
                f"INSERT INTO {INBOX.name} ({', '.join(INSERTED)}) VALUES {rows} "
                "ON CONFLICT (channel, account, event_id) DO NOTHING RETURNING channel, account, event_id"
            )
            sql = (  # and wake the workers, in the same statement
                f"WITH stored AS ({insert}) SELECT stored.* FROM stored, "
                f"(SELECT pg_notify('{INBOX_CHANNEL}', '') FROM (SELECT 1 FROM stored LIMIT 1) AS one) AS woken"
            )
            found = self._batches[count] = Prepared(self.engine, text(sql))
        return found

    def _insert_one(self, row: dict[str, Any]) -> bool:
        unique_violation = self.engine.dialect.dbapi.IntegrityError  # type: ignore[union-attr]
        try:
            with self.engine.begin() as c:
                self._insert_event.run(c, row)
        except (IntegrityError, unique_violation):
            return False
        return True

    def chats_waiting(self, limit: int, skip: frozenset[int] = frozenset()) -> list[int]:
        """The claim keys of chats with events not handled yet, the longest waiting first."""
        found = self._chats_waiting.all(self.quick, {"limit": limit + len(skip)})
        return [row.chat_key for row in found if row.chat_key not in skip][:limit]

    def events_of(self, key: int, limit: int = 50) -> list[Any]:
        """One chat's events not handled yet, in the order they came."""
        return self._events_of.all(self.quick, {"key": key, "limit": limit})

    def backlog(self) -> int:
        """How many events wait to be handled (the webhooks push back above a limit)."""
        with self.engine.connect() as c:
            return int(c.execute(select(func.count()).where(INBOX.c.status == "new")).scalar_one())

    def finish_events(self, row_ids: list[int], error: str = "") -> None:
        if not row_ids:
            return
        status = "failed" if error else "done"
        with self.quick.begin() as c:  # each row on its own (PostgreSQL: pipelined, one round trip)
            self._finish.run_many(c, [{"row_id": i, "status": status, "error": error[:500]} for i in row_ids])

    def finish_in(self, conn: Any, row_id: int) -> None:
        """Mark an event handled inside another transaction (the turn that answered it)."""
        self._finish.run(conn, {"row_id": row_id, "status": "done", "error": ""})

    # chats

    def chat_for(self, channel: str, account: str, chat: str) -> tuple[str, Any]:
        """The conversation id of a chat, and its row if the chat was seen before. A chat whose
        conversation began before ids were keyed keeps it (found by the old id)."""
        cid, old = self.ids.of(channel, account, chat), legacy_id(channel, account, chat)
        found = {row.conversation_id: row for row in self._chats.all(self.quick, {"keyed": cid, "legacy": old})}
        if cid not in found and old in found:
            return old, found[old]
        return cid, found.get(cid)

    def bind_chat(self, cid: str, channel: str, account: str, chat: str) -> None:
        with Session(self.engine) as s:
            if s.get(ChatRow, cid) is None:
                s.add(ChatRow(conversation_id=cid, channel=channel, account=account, chat=chat))
                s.commit()

    def offer(self, cid: str, buttons: list[dict[str, str]]) -> None:
        """Remember the buttons a chat was last shown as a numbered list (none: forget them)."""
        with self.engine.begin() as c:
            c.execute(
                update(CHATS)
                .where(CHATS.c.conversation_id == cid)
                .values(offered=json.dumps(buttons) if buttons else "")
            )

    def chat_of(self, cid: str) -> ChatRow | None:
        with Session(self.engine) as s:
            return s.get(ChatRow, cid)

    # outbox

    def outbox_writer(self) -> Any:
        """The function the conversation store calls in a turn's transaction (see OutboxWriter)."""
        cols = ", ".join(OUTBOX_COLUMNS)
        # one statement per message: the chat's address and pace come from the chat row, so a
        # conversation that is not on a delivered channel (API, widget) adds nothing
        sql = text(
            f"INSERT INTO {OUTBOX.name} ({cols}, attempts, next_at, last_error, sending, created_at) "
            "SELECT conversation_id, :seq, :n, channel, account, chat, :message, 'pending', 0, paced_until, '', :f, "
            ":now "
            f"FROM {CHATS.name} WHERE conversation_id = :cid"
        )
        compiled = Prepared(self.engine, sql.bindparams(bindparam("f", type_=OUTBOX.c.sending.type)))
        notify = self.engine.dialect.name == "postgresql"

        def write(conn: Any, state: Any, turn: int, messages: list[dict[str, Any]]) -> None:
            if state.channel not in self.delivered:
                return
            now = time.time()
            rows = [
                {"cid": state.id, "seq": turn, "n": n, "message": json.dumps(m), "f": False, "now": now}
                for n, m in enumerate(messages)
            ]
            compiled.run_many(conn, rows)
            if notify:
                conn.exec_driver_sql(f"NOTIFY {OUTBOX_CHANNEL}")

        return write

    def enqueue_message(self, cid: str, event: Any, message: Outbound) -> None:
        """A message outside the flow's turns (the answer to a message type the flow cannot use),
        keyed by the event it answers so that handling the event again does not send it twice."""
        seq = -int(hashlib.sha256(event.event_id.encode()).hexdigest()[:7], 16)
        try:
            with self.engine.begin() as c:
                c.execute(
                    OUTBOX.insert().values(
                        conversation_id=cid,
                        seq=seq,
                        n=0,
                        channel=event.channel,
                        account=event.account,
                        chat=event.chat,
                        message=json.dumps(message.to_json()),
                        created_at=time.time(),
                    )
                )
                if self.engine.dialect.name == "postgresql":
                    c.exec_driver_sql(f"NOTIFY {OUTBOX_CHANNEL}")
        except IntegrityError:
            pass

    def conversations_due(self, now: float, limit: int, skip: frozenset[str] = frozenset()) -> list[str]:
        """Conversations with a message due, the longest waiting first."""
        found = self._conversations_due.all(self.quick, {"now": now, "limit": limit + len(skip)})
        return [row.conversation_id for row in found if row.conversation_id not in skip][:limit]

    def take_next(self, cid: str, now: float) -> Any:
        """A conversation's first waiting message if it is due (else None), marked as being handed to
        the platform: a crash from here until `sent` may send it twice. `was_sending`: a worker that
        stopped had marked it so already (it may have been sent)."""
        with self.quick.begin() as c:
            found = self._take_next.run(c, {"cid": cid, "now": now}).fetchone()
            if found is None:
                return None
            row: Any = self._take_next.shape(*found)
            if self.engine.dialect.name != "postgresql" and not row.sending:
                self._mark.run(c, {"row_id": row.id, "on": True})
        return row

    def not_sending(self, row_id: int) -> None:
        """Taken, then not handed to the platform after all (its account's rate was used up)."""
        with self.quick.begin() as c:
            self._mark.run(c, {"row_id": row_id, "on": False})

    def due(self, now: float, limit: int = 200) -> list[Row[Any]]:
        """The first pending message of each conversation, if it is due: later ones wait their turn."""
        first = select(func.min(OUTBOX.c.id)).where(OUTBOX.c.status == "pending").group_by(OUTBOX.c.conversation_id)
        query = select(OUTBOX).where(OUTBOX.c.id.in_(first), OUTBOX.c.next_at <= now).order_by(OUTBOX.c.id).limit(limit)
        with self.engine.connect() as c:
            return list(c.execute(query))

    def sent(self, row_id: int, cid: str = "", paced_until: float = 0.0) -> None:
        """Delivered: the row goes (the transcript keeps the turn, masked where the workspace masks);
        the chat's next message waits until `paced_until`."""
        with (self.engine if paced_until else self.quick).begin() as c:
            self._sent.run(c, {"row_id": row_id})
            if paced_until:
                self._hold(c, cid, paced_until)

    def retry_later(self, row_id: int, attempts: int, at: float, error: str, cid: str = "") -> None:
        """Not accepted: try again at `at`; the conversation's later messages wait behind it."""
        with self.engine.begin() as c:
            c.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == row_id)
                .values(attempts=attempts, next_at=at, last_error=error[:500], sending=False)
            )
            if cid:
                self._hold(c, cid, at)

    def _hold(self, c: Any, cid: str, until: float) -> None:
        """Nothing more to this chat before `until`: its waiting messages, and those queued later."""
        self._hold_waiting.run(c, {"cid": cid, "until": until})
        self._hold_chat.run(c, {"cid": cid, "until": until})

    def dead(self, row_id: int, attempts: int, error: str) -> None:
        self._set(row_id, status="dead", attempts=attempts, last_error=error[:500], sending=False)

    def dead_letters(self) -> list[Row[Any]]:
        with self.engine.connect() as c:
            return list(c.execute(select(OUTBOX).where(OUTBOX.c.status == "dead").order_by(OUTBOX.c.id)))

    def revive(self, row_id: int) -> None:
        """Send a dead letter again."""
        self._set(row_id, status="pending", attempts=0, next_at=0.0, last_error="")

    def pending_count(self, channel: str, account: str) -> int:
        query = select(func.count()).where(
            OUTBOX.c.status == "pending", OUTBOX.c.channel == channel, OUTBOX.c.account == account
        )
        with self.engine.connect() as c:
            return int(c.execute(query).scalar_one())

    def _set(self, row_id: int, **values: Any) -> None:
        with self.engine.begin() as c:
            c.execute(update(OUTBOX).where(OUTBOX.c.id == row_id).values(**values))

"""What the channels keep in the database: deployments, the inbox of webhook events, which chat
each conversation talks to, and the outbox of messages to deliver.

Inbox: a webhook event is stored under a unique (channel, account, event id) before the platform
is answered, so a redelivery (Telegram `update_id`, Slack `event_id`) is recognised even after a
restart, and nothing acknowledged is lost. Outbox: one row per message, unique per (conversation,
turn, position), filled from the turns the runtime saved (taken in the same transaction, see
runtime.store.take_turns), delivered in order per conversation. An outbox row holds the message as
it is sent, never masked; it is deleted once sent (the transcript keeps the turn), so the real
text of a masked conversation stays only as long as it is waiting or dead-lettered.

Chats: a chat's conversation id is keyed with the installation's secret (see chat_ids), so knowing
a Telegram chat id does not name its conversation.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Index, Row, Table, UniqueConstraint, bindparam, delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from nodes.api import Outbound
from runtime.channels.chat_ids import ChatIds, legacy_id
from runtime.channels.secretbox import SecretBox
from runtime.store import Prepared, take_turns, with_untaken_turns


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
    __table_args__ = (UniqueConstraint("channel", "account", "event_id", name="uq_inbox_event"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    account: str = Field(max_length=100)
    event_id: str = Field(max_length=200)
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


class OutboxRow(SQLModel, table=True):
    """One message to deliver; in order per conversation."""

    __tablename__ = "channel_outbox"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", "n", name="uq_outbox_message"),
        Index("ix_outbox_due", "status", "next_at"),
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
    created_at: float
    sent_at: float | None = None  # unused: a sent message is deleted (kept for databases made before)


class LeaseRow(SQLModel, table=True):
    """Which worker process does the channels' work now (one at a time; another takes over when
    its lease runs out)."""

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


INSERTED = ("channel", "account", "event_id", "event", "status", "error", "received_at")


@dataclass(frozen=True, slots=True)
class Deployment:
    channel: str
    account: str
    flow_id: str
    version: int
    credentials: dict[str, Any]
    paused: bool
    api_base: str


def _insert_if_new(engine: Engine, values: dict[str, Any]) -> Prepared | None:
    """INSERT … ON CONFLICT DO NOTHING into the inbox, where the database has it."""
    unique = ["channel", "account", "event_id"]
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return Prepared(engine, sqlite_insert(INBOX).values(values).on_conflict_do_nothing(index_elements=unique))
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return Prepared(engine, pg_insert(INBOX).values(values).on_conflict_do_nothing(index_elements=unique))
    return None


class ChannelStore:
    """The channels' tables, and the moves between them."""

    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self.engine, self.box = engine, box
        SQLModel.metadata.create_all(engine, tables=TABLES)
        values: dict[str, Any] = {c: bindparam(c) for c in INSERTED}
        self._insert_event = Prepared(engine, INBOX.insert().values(values))
        self._insert_new = _insert_if_new(engine, values)
        self.ids = ChatIds(engine)

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

    def receive_many(self, events: list[tuple[str, str, str, dict[str, Any]]]) -> list[bool]:
        """Store webhook events (channel, account, event id, event) in one transaction: for each,
        False if it was received before (a redelivery, also earlier in the same list).

        The hot path of every webhook: the webhook requests that arrive together share one commit
        (see Channels.receive), and the insert is compiled once and run on the DBAPI cursor."""
        now = time.time()
        rows = [
            {
                "channel": channel,
                "account": account,
                "event_id": event_id,
                "event": json.dumps(event),
                "status": "new",
                "error": "",
                "received_at": now,
            }
            for channel, account, event_id, event in events
        ]
        if self._insert_new is None:  # a database without ON CONFLICT: one transaction per event
            return [self._insert_one(row) for row in rows]
        with self.engine.begin() as c:
            return [self._insert_new.run(c, row).rowcount == 1 for row in rows]

    def _insert_one(self, row: dict[str, Any]) -> bool:
        unique_violation = self.engine.dialect.dbapi.IntegrityError  # type: ignore[union-attr]
        try:
            with self.engine.begin() as c:
                self._insert_event.run(c, row)
        except (IntegrityError, unique_violation):
            return False
        return True

    def new_events(self, limit: int = 100) -> list[Row[Any]]:
        with self.engine.connect() as c:
            return list(c.execute(select(INBOX).where(INBOX.c.status == "new").order_by(INBOX.c.id).limit(limit)))

    def finish_event(self, row_id: int, error: str = "") -> None:
        with self.engine.begin() as c:
            c.execute(
                update(INBOX)
                .where(INBOX.c.id == row_id)
                .values(status="failed" if error else "done", error=error[:500])
            )

    # chats

    def chat_for(self, channel: str, account: str, chat: str) -> tuple[str, ChatRow | None]:
        """The conversation id of a chat, and its row if the chat was seen before. A chat whose
        conversation began before ids were keyed keeps it (found by the old id)."""
        cid = self.ids.of(channel, account, chat)
        found = self.chat_of(cid)
        if found is None:
            old = legacy_id(channel, account, chat)
            before = self.chat_of(old)
            if before is not None:
                return old, before
        return cid, found

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

    def sweep(self) -> list[str]:
        """Conversations on a channel with saved turns not yet in the outbox (a crash in between)."""
        with self.engine.connect() as c:
            return with_untaken_turns(c, select(CHATS.c.conversation_id))

    def chat_of(self, cid: str) -> ChatRow | None:
        with Session(self.engine) as s:
            return s.get(ChatRow, cid)

    # outbox

    def enqueue_turns(self, cid: str) -> int:
        """Move the conversation's saved, not yet queued turns into the outbox; how many messages."""
        chat = self.chat_of(cid)
        if chat is None:
            return 0
        now, count = time.time(), 0
        with self.engine.begin() as c:
            for seq, messages in take_turns(c, cid):
                rows = [
                    {
                        "conversation_id": cid,
                        "seq": seq,
                        "n": n,
                        "channel": chat.channel,
                        "account": chat.account,
                        "chat": chat.chat,
                        "message": json.dumps(message),
                        "status": "pending",
                        "attempts": 0,
                        "next_at": 0.0,
                        "last_error": "",
                        "created_at": now,
                    }
                    for n, message in enumerate(messages)
                ]
                if rows:
                    c.execute(OUTBOX.insert(), rows)
                    count += len(rows)
        return count

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
        except IntegrityError:
            pass

    def due(self, now: float, limit: int = 200) -> list[Row[Any]]:
        """The first pending message of each conversation, if it is due: later ones wait their turn."""
        first = select(func.min(OUTBOX.c.id)).where(OUTBOX.c.status == "pending").group_by(OUTBOX.c.conversation_id)
        query = select(OUTBOX).where(OUTBOX.c.id.in_(first), OUTBOX.c.next_at <= now).order_by(OUTBOX.c.id).limit(limit)
        with self.engine.connect() as c:
            return list(c.execute(query))

    def sent(self, row_id: int) -> None:
        """Delivered: the row goes (the transcript keeps the turn, masked where the workspace masks)."""
        with self.engine.begin() as c:
            c.execute(delete(OUTBOX).where(OUTBOX.c.id == row_id))

    def retry_later(self, row_id: int, attempts: int, at: float, error: str) -> None:
        self._set(row_id, attempts=attempts, next_at=at, last_error=error[:500])

    def dead(self, row_id: int, attempts: int, error: str) -> None:
        self._set(row_id, status="dead", attempts=attempts, last_error=error[:500])

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

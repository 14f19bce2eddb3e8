"""A data-subject request for one end user: find them, export everything held about them, erase it.

Found by the channel's user id (optionally on one channel), or by an email address or phone number
anywhere it is stored: variables, transcripts, channel events, messages waiting, memories and
profiles (runtime.privacy_search). Held about them: their conversations (the
variables and the place in the flow), transcripts, the chats they are reached at, the channel
events they sent and the messages waiting for them, the timers of their conversations, their
long-term memories and profiles, and the voice replies made for them. Model call records keep their
figures but lose the conversation they belonged to.

Erasing is idempotent: a run cut short is run again and finishes. Nothing erased is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from flows.db import create_tables
from runtime.ai.calls import TABLE as CALLS
from runtime.channels.store import CHATS, INBOX, OUTBOX
from runtime.engine import Runtime
from runtime.interpreter import user_key
from runtime.media import LocalMedia
from runtime.privacy_search import NOTE_MASKED, Wanted, search
from runtime.state import ConversationState
from runtime.store import AS_SAID, CONV, TURN

log = logging.getLogger(__name__)


class SubjectNotFound(LookupError):
    """Nothing is held about that person."""


@dataclass
class Subject:
    """One person, as the stores know them: their conversations and the keys of their memories."""

    asked: str  # how they were asked for (shown back; never logged)
    conversations: list[ConversationState] = field(default_factory=list)
    events: list[int] = field(default_factory=list)  # channel events holding what was asked, by row id
    memory_users: list[str] = field(default_factory=list)  # memory keys holding it, with no conversation left

    @property
    def users(self) -> list[str]:
        """The keys their memories and profiles are kept under."""
        return sorted({user_key(c) for c in self.conversations} | set(self.memory_users))

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.conversations]

    def summary(self) -> str:
        """What was found, in words: “2 conversation(s), 1 other channel event(s)”."""
        parts = [f"{len(self.ids)} conversation(s)"]
        if self.events:
            parts.append(f"{len(self.events)} other channel event(s)")
        if self.memory_users:
            parts.append("long-term memories")
        return ", ".join(parts)


class Privacy:
    """Data-subject requests against one runtime's stores."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.engine: Engine = runtime.engine
        # a server that never ran a channel or a model has none of these yet: make them (empty)
        create_tables(self.engine, [CALLS, INBOX, OUTBOX, CHATS])

    # finding

    def find(self, *, user_id: str = "", email: str = "", phone: str = "", channel: str = "") -> Subject:
        """The person with this channel user id (on `channel`, if given), or everything that holds this
        email address or phone number (and everything else of the people it belongs to). Reads the
        stores through: blocking, slow on big ones; run it in a thread. SubjectNotFound when nothing is held."""
        if sum(bool(x) for x in (user_id, email, phone)) != 1:
            raise ValueError("Give one of: the user's id on the channel, an email address, a phone number.")
        events: list[int] = []
        memory_users: list[str] = []
        with self.engine.connect() as conn:
            if user_id:
                query = select(CONV.c.id).where(CONV.c.user_id == user_id)
                if channel:
                    query = query.where(CONV.c.channel == channel)
                ids = list(conn.execute(query).scalars())
            else:
                wanted = Wanted.email(email) if email else Wanted.phone(phone)
                holding = getattr(self.runtime.services.memory, "users_holding", None)
                found = search(self.engine, wanted, holding(wanted.in_text) if holding is not None else set())
                ids = sorted(found.conversations)
                events, memory_users = sorted(found.events), sorted(found.memory_users)
                # and everything else the same people said on those channels
                people = conn.execute(select(CONV.c.channel, CONV.c.user_id).where(CONV.c.id.in_(ids))).all()
                for ch, uid in {(ch, uid) for ch, uid in people if uid}:
                    same = conn.execute(select(CONV.c.id).where(CONV.c.channel == ch, CONV.c.user_id == uid))
                    ids += [cid for cid in same.scalars() if cid not in ids]
        states = [s for cid in ids if (s := self.runtime.store.load(cid)) is not None]
        if not states and not events and not memory_users:
            raise SubjectNotFound("No conversations are held for that person." + self._masked_note(user_id))
        return Subject(user_id or email or phone, states, events, memory_users)

    def _masked_note(self, user_id: str) -> str:
        return " " + self.note() if not user_id and self.note() else ""

    def note(self) -> str:
        """What a search by email or phone cannot find on this server (transcripts kept masked), or ""."""
        return NOTE_MASKED if self.runtime.store.masked is not None else ""

    # exporting

    async def export(self, subject: Subject) -> dict[str, Any]:
        """Everything held about the person, as JSON-ready data."""
        store = self.runtime.store
        out: dict[str, Any] = {
            "exported_at": datetime.now(UTC).isoformat(),
            "person": subject.asked,
            "conversations": [],
        }
        for state in subject.conversations:
            out["conversations"].append(
                {
                    "id": state.id,
                    "flow": state.flow_id,
                    "version": state.version,
                    "channel": state.channel,
                    "account": state.account,
                    "user_id": state.user_id,
                    "status": state.status,
                    "variables": state.vars,
                    "transcript": [m.to_json() for m in store.messages(state.id, limit=100_000)],
                }
            )
        out["channel_events"] = [json.loads(e) for _, e in self._inbox_rows(subject)]
        if self.note():
            out["note"] = self.note()
        flow_of = {s.id: s.flow_id for s in subject.conversations}
        out["messages_waiting"] = [  # an export is read later: masked as the transcript is
            {**m, "message": store.as_kept(flow_of.get(m["conversation"], ""), m["message"])}
            for m in self._outbox(subject)
        ]
        out["model_calls"] = self._calls(subject)
        memory = self.runtime.services.memory
        if memory is not None:
            out["memory"] = {user: await memory.export_user(user) for user in subject.users}
        return out

    # erasing

    async def erase(self, subject: Subject) -> dict[str, int]:
        """Erase everything held about the person; returns how much went, by store."""
        counts: dict[str, int] = {}
        memory = self.runtime.services.memory
        if memory is not None:
            counts["memories"] = sum([await memory.erase_user(user) for user in subject.users])
        events = [row_id for row_id, _ in self._inbox_rows(subject)]
        counts = {**self.erase_conversations(subject.conversations, events), **counts}
        log.info("a person's data was erased", extra={"counts": counts})  # never who
        return counts

    def erase_conversations(self, states: list[ConversationState], events: Sequence[int] = ()) -> dict[str, int]:
        """Erase these conversations: timers, voice replies, transcripts, waiting messages, chats (and
        these channel event rows); model calls lose the link. Long-term memories stay (they are the
        user's, not one conversation's). Idempotent."""
        subject = Subject(asked="", conversations=states)
        for state in states:
            if state.wake_token:
                self.runtime.timers.cancel(state.id, state.wake_token)
        counts = {"voice files": self._media(subject), **self._sql(subject.ids, events)}
        self.runtime.forget_cached(subject.ids)
        return counts

    def _sql(self, ids: list[str], events: Sequence[int]) -> dict[str, int]:
        with self.engine.begin() as conn:
            counts = {
                "channel events": conn.execute(delete(INBOX).where(INBOX.c.id.in_(list(events)))).rowcount
                if events
                else 0,
                "messages waiting": conn.execute(delete(OUTBOX).where(OUTBOX.c.conversation_id.in_(ids))).rowcount,
                "chats": conn.execute(delete(CHATS).where(CHATS.c.conversation_id.in_(ids))).rowcount,
                "transcript turns": conn.execute(delete(TURN).where(TURN.c.conversation_id.in_(ids))).rowcount,
                # the unmasked copies of masked turns (kept a day, for delivery): gone with the turns
                "turns kept as said": conn.execute(delete(AS_SAID).where(AS_SAID.c.conversation_id.in_(ids))).rowcount,
                "conversations": conn.execute(delete(CONV).where(CONV.c.id.in_(ids))).rowcount,
            }
            conn.execute(update(CALLS).where(CALLS.c.conversation_id.in_(ids)).values(conversation_id=""))
        return {k: int(v or 0) for k, v in counts.items()}

    def _inbox_rows(self, subject: Subject) -> list[tuple[int, str]]:
        """The channel events the person sent (by their user id or chat on that channel account), and
        the events the search found holding their email or phone."""
        wanted = {(s.channel, s.account, s.user_id) for s in subject.conversations if s.user_id}
        out = []
        with self.engine.connect() as conn:
            for channel, account, uid in wanted:
                rows = conn.execute(
                    select(INBOX.c.id, INBOX.c.event).where(
                        INBOX.c.channel == channel, INBOX.c.account == account, INBOX.c.event.contains(uid)
                    )
                )
                for row_id, event in rows:
                    data = json.loads(event)
                    if uid in (data.get("user"), data.get("chat")):
                        out.append((int(row_id), event))
            seen = {row_id for row_id, _ in out}
            if subject.events:  # and those that hold what they were searched by, whoever sent them
                found = conn.execute(select(INBOX.c.id, INBOX.c.event).where(INBOX.c.id.in_(subject.events)))
                out += [(int(row_id), event) for row_id, event in found if row_id not in seen]
        return out

    def _outbox(self, subject: Subject) -> list[dict[str, Any]]:
        cols = (OUTBOX.c.conversation_id, OUTBOX.c.message, OUTBOX.c.status, OUTBOX.c.created_at)
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols).where(OUTBOX.c.conversation_id.in_(subject.ids))).all()
        return [{"conversation": c, "message": json.loads(m), "status": s, "at": at} for c, m, s, at in rows]

    def _calls(self, subject: Subject) -> list[dict[str, Any]]:
        cols = (CALLS.c.conversation_id, CALLS.c.model, CALLS.c.at, CALLS.c.tokens_in, CALLS.c.tokens_out)
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols, CALLS.c.feedback).where(CALLS.c.conversation_id.in_(subject.ids)))
            return [
                {"conversation": c, "model": m, "at": at, "tokens_in": i, "tokens_out": o, "feedback": f}
                for c, m, at, i, o, f in rows
            ]

    def _media(self, subject: Subject) -> int:
        """Delete the bot's own files (spoken replies) that the person's transcripts point to."""
        files = self.runtime.services.media
        if not isinstance(files, LocalMedia):
            return 0
        messages = [line.payload for cid in subject.ids for line in self.runtime.store.messages(cid, limit=100_000)]
        messages += [m["message"] for m in self._outbox(subject)]
        gone = 0
        for message in messages:
            media = message.get("media") or {}
            path = files.path_of(str(media.get("url", "")))
            if path is not None and path.is_file():
                path.unlink()
                gone += 1
        return gone

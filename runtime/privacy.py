"""A data-subject request for one end user: find them, export everything held about them, erase it.

Found by the channel's user id (optionally on one channel), or by an email address or phone number
that one of their conversations holds in a variable. Held about them: their conversations (the
variables and the place in the flow), transcripts, the chats they are reached at, the channel
events they sent and the messages waiting for them, the timers of their conversations, their
long-term memories and profiles, and the voice replies made for them. Model call records keep their
figures but lose the conversation they belonged to.

Erasing is idempotent: a run cut short is run again and finishes. Nothing erased is logged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from runtime.ai.calls import TABLE as CALLS
from runtime.channels.store import CHATS, INBOX, OUTBOX
from runtime.engine import Runtime
from runtime.interpreter import user_key
from runtime.media import LocalMedia
from runtime.state import ConversationState
from runtime.store import CONV, TURN

log = logging.getLogger(__name__)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SubjectNotFound(LookupError):
    """Nothing is held about that person."""


@dataclass
class Subject:
    """One person, as the stores know them: their conversations and the keys of their memories."""

    asked: str  # how they were asked for (shown back; never logged)
    conversations: list[ConversationState] = field(default_factory=list)

    @property
    def users(self) -> list[str]:
        """The keys their memories and profiles are kept under."""
        return sorted({user_key(c) for c in self.conversations})

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.conversations]


def _normal_phone(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, None if text.strip().startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _mentions(value: Any, wanted: str, kind: str) -> bool:
    """Whether a variable's value (or anything inside it) is the wanted email or phone number."""
    if isinstance(value, str):
        if kind == "email":
            return value.strip().casefold() == wanted
        return any(ch.isdigit() for ch in value) and _normal_phone(value) == wanted
    if isinstance(value, dict):
        return any(_mentions(v, wanted, kind) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, wanted, kind) for v in value)
    return False


class Privacy:
    """Data-subject requests against one runtime's stores."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.engine: Engine = runtime.engine
        # a server that never ran a channel or a model has none of these yet: make them (empty)
        SQLModel.metadata.create_all(self.engine, tables=[CALLS, INBOX, OUTBOX, CHATS])

    # finding

    def find(self, *, user_id: str = "", email: str = "", phone: str = "", channel: str = "") -> Subject:
        """The conversations of the person with this channel user id (on `channel`, if given), or whose
        variables hold this email address or phone number. SubjectNotFound when there are none."""
        if sum(bool(x) for x in (user_id, email, phone)) != 1:
            raise ValueError("Give one of: the user's id on the channel, an email address, a phone number.")
        with self.engine.connect() as conn:
            if user_id:
                query = select(CONV.c.id).where(CONV.c.user_id == user_id)
                if channel:
                    query = query.where(CONV.c.channel == channel)
                ids = list(conn.execute(query).scalars())
            else:
                wanted, kind = (email.strip().casefold(), "email") if email else (_normal_phone(phone) or "", "phone")
                if kind == "email" and not EMAIL.match(wanted):
                    raise ValueError(f"“{email}” is not an email address.")
                if kind == "phone" and not wanted:
                    raise ValueError(f"“{phone}” is not a phone number.")
                rows = conn.execute(select(CONV.c.id, CONV.c.channel, CONV.c.user_id, CONV.c.data)).all()
                found = [r for r in rows if _mentions(json.loads(r.data).get("vars", {}), wanted, kind)]
                ids = [r.id for r in found]
                # and everything else the same person said on those channels
                for ch, uid in {(r.channel, r.user_id) for r in found if r.user_id}:
                    same = conn.execute(select(CONV.c.id).where(CONV.c.channel == ch, CONV.c.user_id == uid))
                    ids += [cid for cid in same.scalars() if cid not in ids]
        states = [s for cid in ids if (s := self.runtime.store.load(cid)) is not None]
        if not states:
            raise SubjectNotFound("No conversations are held for that person.")
        return Subject(asked=user_id or email or phone, conversations=states)

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
        out["messages_waiting"] = self._outbox(subject)
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
                "conversations": conn.execute(delete(CONV).where(CONV.c.id.in_(ids))).rowcount,
            }
            conn.execute(update(CALLS).where(CALLS.c.conversation_id.in_(ids)).values(conversation_id=""))
        return {k: int(v or 0) for k, v in counts.items()}

    def _inbox_rows(self, subject: Subject) -> list[tuple[int, str]]:
        """The channel events the person sent: by their user id (or chat) on that channel account."""
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

"""Finding a person by an email address or a phone number in everything stored about them.

Variables are not enough: a conversation that ended and started again has lost them, and its
transcript still holds what the person typed. So every place that keeps what people said or
were sent is read: the conversations' variables, the transcripts (turns), the turns kept as said
while masking hides them (runtime.store.AS_SAID), the channel events as received, the messages
waiting to go, and the long-term memories and profiles (when the memory service can search them).

Matching is on whole addresses and numbers, never substrings, so that finding `ann@example.com`
never finds `joann@example.com`: emails compare case-folded; phone numbers by their digits, with
a leading `+` or `00` meaning the country code follows (`+44 20 7946 0958` is `0044 20 7946
0958`). A number written the national way (`020 7946 0958`, `(415) 555-0100`, or a long run of
digits such as WhatsApp's `447700900123`) matches one with a country code when its digits, trunk
zeros left off, end the other's and are at least SUFFIX_DIGITS long. Short runs of bare digits
(message ids, codes) match only exactly, and numbers stored as JSON numbers (ids, times) never.

What masking replaced in a transcript (`[email]`) cannot be found there; NOTE_MASKED says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from runtime.channels.store import CHATS, INBOX, OUTBOX
from runtime.masking import PHONE as PHONE_IN_TEXT
from runtime.store import AS_SAID, CONV, TURN

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_DIGITS = 7  # fewer is an extension or a code, not a phone number
SUFFIX_DIGITS = 9  # a national number matching the end of another: fewer could be anyone's
BATCH = 500  # rows read at a time: a big database is read through, never loaded whole
NOTE_MASKED = (
    "Transcripts of workspaces that mask are kept with [email] and [phone number] in place of what "
    "was typed, so an address or number is found there only where it is kept as typed: a "
    "conversation's current variables, channel events, messages waiting to go and the last day's "
    "turns. Search by the person's id on the channel too."
)


@dataclass(frozen=True, slots=True)
class Number:
    """A phone number as written: its digits (no trunk zeros when national), whether they begin with a
    country code, and whether it may match the end of a longer number (written the national way)."""

    digits: str
    country: bool
    loose: bool

    def same(self, other: Number) -> bool:
        if self.digits == other.digits and self.country == other.country:
            return True
        if not (self.loose or self.country) or not (other.loose or other.country):
            return False  # a short run of bare digits: only itself
        longer, shorter = sorted((self.digits, other.digits), key=len, reverse=True)
        if self.country and other.country:
            return False
        return len(shorter) >= SUFFIX_DIGITS and longer.endswith(shorter)


@dataclass(frozen=True, slots=True)
class Wanted:
    """An email address (case-folded) or a phone number."""

    kind: Literal["email", "phone"]
    value: str
    number: Number | None = None

    @classmethod
    def email(cls, text: str) -> Wanted:
        value = text.strip().casefold()
        if not EMAIL.match(value):
            raise ValueError(f"“{text}” is not an email address.")
        return cls("email", value)

    @classmethod
    def phone(cls, text: str) -> Wanted:
        number = _phone(text) if re.fullmatch(r"\s*\+?[\d\s().\-/]+", text) else None
        if number is None:
            raise ValueError(f"“{text}” is not a phone number.")
        # the searcher's own number, written without a country code, may match the end of one with it
        return cls("phone", number.digits, Number(number.digits, number.country, True))

    def in_text(self, text: str) -> bool:
        """Whether the text holds this address or number (as a whole)."""
        if self.kind == "email":  # the whole address: nothing of an address on either side
            whole = rf"(?<![\w.+'-]){re.escape(self.value)}(?![\w-]|\.[\w-])"
            return "@" in text and re.search(whole, text.casefold()) is not None
        assert self.number is not None
        wanted = self.number
        return any(wanted.same(found) for m in PHONE_IN_TEXT.findall(text) if (found := _phone(m)) is not None)

    def in_data(self, value: Any) -> bool:
        """Whether any text inside decoded JSON (keys too) holds it."""
        if isinstance(value, str):
            return self.in_text(value)
        if isinstance(value, dict):
            return any(self.in_text(str(k)) or self.in_data(v) for k, v in value.items())
        if isinstance(value, list):
            return any(self.in_data(v) for v in value)
        return False  # numbers are ids, times and counts: a phone number is kept as text

    def in_json(self, text: str | None) -> bool:
        if not text:
            return False
        try:
            return self.in_data(json.loads(text))
        except ValueError:
            return self.in_text(text)

    def prefilter(self, column: Any) -> ColumnElement[bool] | None:
        """A condition the database checks first, where it can (an ASCII email in JSON text)."""
        if self.kind == "email" and self.value.isascii():
            return func.lower(column).contains(self.value, autoescape=True)
        return None


def _phone(text: str) -> Number | None:
    """The number written in `text`, or None when it is too short or too long to be one."""
    stripped = text.strip()
    digits = re.sub(r"\D", "", stripped)
    if stripped.startswith("+"):
        found = Number(digits, True, False)
    elif digits.startswith("00"):
        found = Number(digits[2:], True, False)
    else:
        formatted = not stripped.isdigit() or stripped.startswith("0") or len(digits) >= 10
        found = Number(digits.lstrip("0"), False, formatted)
    return found if MIN_DIGITS <= len(found.digits) <= 15 else None


@dataclass
class Found:
    """Where the person was found: conversations, channel events, and memory keys with no conversation."""

    conversations: set[str] = field(default_factory=set)
    events: set[int] = field(default_factory=set)
    memory_users: set[str] = field(default_factory=set)


def _rows(conn: Connection, query: Any) -> Iterator[Any]:
    """The rows of a query, fetched BATCH at a time."""
    yield from conn.execution_options(yield_per=BATCH).execute(query)


def search(engine: Engine, wanted: Wanted, memory_users: set[str]) -> Found:
    """Every conversation, channel event and memory key that holds the wanted address or number
    (`memory_users`: the memory service's keys whose memories or profiles hold it)."""
    found = Found()
    people: set[tuple[str, str, str]] = set()  # (channel, account, user id or chat) of matching events

    def scan(conn: Connection, id_column: Any, *columns: Any) -> Iterator[Any]:
        query = select(id_column, *columns)
        conditions = [c for c in (wanted.prefilter(col) for col in columns) if c is not None]
        if conditions and len(conditions) == len(columns):
            query = query.where(or_(*conditions))
        for row in _rows(conn, query):
            if any(wanted.in_json(value) for value in row[1:]):
                yield row[0]

    with engine.connect() as conn:
        for cid, data in _rows(conn, select(CONV.c.id, CONV.c.data)):
            if wanted.in_data(json.loads(data).get("vars", {})):
                found.conversations.add(cid)
        found.conversations.update(scan(conn, TURN.c.conversation_id, TURN.c.inbound, TURN.c.outbound))
        found.conversations.update(scan(conn, AS_SAID.c.conversation_id, AS_SAID.c.inbound, AS_SAID.c.outbound))
        found.conversations.update(scan(conn, OUTBOX.c.conversation_id, OUTBOX.c.message))
        events = select(INBOX.c.id, INBOX.c.channel, INBOX.c.account, INBOX.c.event)
        for row_id, channel, account, event in _rows(conn, events):
            data = _decoded(event)
            if wanted.in_data(data) if data is not None else wanted.in_text(event):
                found.events.add(int(row_id))
                if isinstance(data, dict):
                    people.update((channel, account, str(data[k])) for k in ("user", "chat") if data.get(k))
        for channel, account, who in people:
            by_user = select(CONV.c.id).where(CONV.c.channel == channel, CONV.c.account == account)
            found.conversations.update(conn.execute(by_user.where(CONV.c.user_id == who)).scalars())
            by_chat = select(CHATS.c.conversation_id).where(CHATS.c.channel == channel, CHATS.c.account == account)
            found.conversations.update(conn.execute(by_chat.where(CHATS.c.chat == who)).scalars())
        for user in memory_users:
            ids = _conversations_of(conn, user)
            if ids:
                found.conversations.update(ids)
            else:
                found.memory_users.add(user)
    return found


def _decoded(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _conversations_of(conn: Connection, user: str) -> list[str]:
    """The conversations a memory key (runtime.interpreter.user_key) belongs to."""
    if user.startswith("conversation:"):
        cid = user.removeprefix("conversation:")
        return list(conn.execute(select(CONV.c.id).where(CONV.c.id == cid)).scalars())
    channel, _, rest = user.partition(":")
    account, _, user_id = rest.partition(":")
    if not user_id:
        return []
    query = select(CONV.c.id).where(CONV.c.channel == channel, CONV.c.account == account, CONV.c.user_id == user_id)
    return list(conn.execute(query).scalars())

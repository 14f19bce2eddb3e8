"""Which conversation a chat (or a widget visitor) talks in: an id nobody can work out from the chat.

The id was the SHA-256 of (channel, account, chat), so anyone who knew a Telegram chat id could name
its conversation and ask the API for it. It is now an HMAC-SHA256 of the same under a random key
made once per installation and kept in the database, where every server and worker process finds
the same key (whoever can read the database reads the transcripts anyway; the key only keeps the
ids from being derived outside it). A chat whose conversation began before keeps it: the old id is
looked up when the keyed one is not found (see ChannelStore.chat_for).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from flows.db import create_tables

KEY_NAME = "conversation ids"


class ServerKeyRow(SQLModel, table=True):
    """A random key of this installation, made on first use and never shown."""

    __tablename__ = "server_keys"
    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=128)  # hex
    created_at: float


KEYS = ServerKeyRow.__table__  # type: ignore[attr-defined]


def server_key(engine: Engine, name: str) -> bytes:
    """The installation's key of this name, made (32 random bytes) the first time it is asked for;
    two processes making it at once agree on the one that was stored first."""
    create_tables(engine, [KEYS])
    for _ in range(2):
        with engine.connect() as conn:
            found = conn.execute(select(KEYS.c.value).where(KEYS.c.name == name)).scalar()
        if found:
            return bytes.fromhex(found)
        try:
            with engine.begin() as conn:
                conn.execute(KEYS.insert().values(name=name, value=secrets.token_hex(32), created_at=time.time()))
        except IntegrityError:
            continue  # another process made it first: read theirs
    raise RuntimeError(f"the server key {name!r} could not be read or made")


def legacy_id(channel: str, account: str, chat: str) -> str:
    """The id a chat's conversation had before ids were keyed (to keep conversations begun then)."""
    digest = hashlib.sha256(f"{channel}\0{account}\0{chat}".encode()).hexdigest()[:40]
    return f"{channel[:16]}-{digest}"


class ChatIds:
    """Conversation ids of chats, keyed with the installation's secret."""

    def __init__(self, engine: Engine) -> None:
        self._key = server_key(engine, KEY_NAME)

    def of(self, channel: str, account: str, chat: str) -> str:
        """The conversation id of one chat on one channel account: stable, unguessable, at most 57 characters."""
        digest = hmac.new(self._key, f"{channel}\0{account}\0{chat}".encode(), hashlib.sha256).hexdigest()[:40]
        return f"{channel[:16]}-{digest}"

    def key(self, *parts: str) -> int:
        """A 64-bit claim key (see claims.py) for a chat or a conversation, keyed like the ids so that
        two installations sharing one PostgreSQL server never claim each other's chats."""
        digest = hmac.new(self._key, "\0".join(parts).encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def find(self, channel: str, account: str, chat: str, exists: Callable[[str], bool]) -> str:
        """The id to use for this chat: its keyed id, unless only a conversation under the old id exists."""
        cid = self.of(channel, account, chat)
        if exists(cid):
            return cid
        old = legacy_id(channel, account, chat)
        return old if exists(old) else cid

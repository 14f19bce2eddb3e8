"""The memory service's SQL side: user profiles and the list of knowledge-base documents.

Profiles are small key/value facts read on every AI turn, so they live in the database with the
conversations (SQLite or PostgreSQL), not in the vector store. The knowledge-base table is the
record of what was uploaded: a document's passages in the vector store belong to the generation
its row names, which is how a replaced document's old passages are told apart from the new ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Index, delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from flows.db import create_tables


class ProfileRow(SQLModel, table=True):
    """One thing the bot knows about a user: name, language, a preference."""

    __tablename__ = "user_profile"
    bot: str = Field(primary_key=True, max_length=100)
    user: str = Field(primary_key=True, max_length=200, index=True)  # indexed: erasing a user in every bot
    key: str = Field(primary_key=True, max_length=64)
    value: str
    updated_at: float


class KnowledgeRow(SQLModel, table=True):
    """A document in a bot's knowledge base."""

    __tablename__ = "knowledge_documents"
    bot: str = Field(primary_key=True, max_length=100)
    name: str = Field(primary_key=True, max_length=255)
    kind: str = Field(max_length=16)
    characters: int
    chunks: int
    generation: str = Field(max_length=32)  # the passages' id prefix in the vector store
    uploaded_at: float


class MemoryRow(SQLModel, table=True):
    """Which user a memory in the bot's vector collection belongs to: a user's recall reads their
    ids here (an index lookup) instead of asking the vector store to filter by metadata."""

    __tablename__ = "memory_items"
    __table_args__ = (Index("ix_memory_items_user", "bot", "user", "at"), Index("ix_memory_items_erase", "user"))
    bot: str = Field(primary_key=True, max_length=100)
    id: str = Field(primary_key=True, max_length=64)  # the item's id in the vector store
    user: str = Field(max_length=200)
    at: float


PROFILE = ProfileRow.__table__  # type: ignore[attr-defined]
KNOWLEDGE = KnowledgeRow.__table__  # type: ignore[attr-defined]
ITEMS = MemoryRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class KnowledgeEntry:
    name: str
    kind: str
    characters: int
    chunks: int
    generation: str
    uploaded_at: float


class MemoryTables:
    """Profiles and knowledge-base records in the runtime's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(engine, [PROFILE, KNOWLEDGE, ITEMS])

    def profile(self, bot: str, user: str) -> dict[str, str]:
        query = select(PROFILE.c.key, PROFILE.c.value).where(PROFILE.c.bot == bot, PROFILE.c.user == user)
        with self.engine.connect() as conn:
            return {k: v for k, v in conn.execute(query.order_by(PROFILE.c.key))}

    def set_profile(self, bot: str, user: str, key: str, value: str) -> None:
        where = (PROFILE.c.bot == bot, PROFILE.c.user == user, PROFILE.c.key == key)
        with self.engine.begin() as conn:  # delete and insert: one statement set for every dialect
            conn.execute(delete(PROFILE).where(*where))
            if value:
                conn.execute(PROFILE.insert().values(bot=bot, user=user, key=key, value=value, updated_at=time.time()))

    def forget_profile(self, user: str, bot: str | None = None, key: str | None = None) -> int:
        """Remove a user's profile in one bot (or every bot), or one entry; returns how many went."""
        conditions = [PROFILE.c.user == user]
        if bot is not None:
            conditions.append(PROFILE.c.bot == bot)
        if key is not None:
            conditions.append(PROFILE.c.key == key)
        with self.engine.begin() as conn:
            return int(conn.execute(delete(PROFILE).where(*conditions)).rowcount or 0)

    def profiles(self, user: str) -> dict[str, dict[str, str]]:
        """A user's profile in every bot: bot → key → value."""
        query = select(PROFILE.c.bot, PROFILE.c.key, PROFILE.c.value).where(PROFILE.c.user == user)
        out: dict[str, dict[str, str]] = {}
        with self.engine.connect() as conn:
            for bot, key, value in conn.execute(query.order_by(PROFILE.c.bot, PROFILE.c.key)):
                out.setdefault(bot, {})[key] = value
        return out

    def users_with_profile(self, holds: Callable[[str], bool]) -> set[str]:
        """The users with a profile entry whose value holds what `holds` looks for (read in batches)."""
        query = select(PROFILE.c.user, PROFILE.c.value)
        with self.engine.connect() as conn:
            return {user for user, value in conn.execution_options(yield_per=500).execute(query) if holds(value)}

    def profile_rows(self, user: str) -> int:
        """How many profile entries a user has in every bot."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(PROFILE.c.user == user)).scalar_one())

    def documents(self, bot: str) -> list[KnowledgeEntry]:
        columns = (KNOWLEDGE.c.name, KNOWLEDGE.c.kind, KNOWLEDGE.c.characters, KNOWLEDGE.c.chunks)
        query = select(*columns, KNOWLEDGE.c.generation, KNOWLEDGE.c.uploaded_at).where(KNOWLEDGE.c.bot == bot)
        with self.engine.connect() as conn:
            return [KnowledgeEntry(*row) for row in conn.execute(query.order_by(KNOWLEDGE.c.name))]

    def document(self, bot: str, name: str) -> KnowledgeEntry | None:
        return next((d for d in self.documents(bot) if d.name == name), None)

    def put_document(self, bot: str, entry: KnowledgeEntry) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(KNOWLEDGE).where(KNOWLEDGE.c.bot == bot, KNOWLEDGE.c.name == entry.name))
            conn.execute(
                KNOWLEDGE.insert().values(
                    bot=bot,
                    name=entry.name,
                    kind=entry.kind,
                    characters=entry.characters,
                    chunks=entry.chunks,
                    generation=entry.generation,
                    uploaded_at=entry.uploaded_at,
                )
            )

    def remove_document(self, bot: str, name: str) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(KNOWLEDGE).where(KNOWLEDGE.c.bot == bot, KNOWLEDGE.c.name == name))
            return bool(gone.rowcount)

    # which memory is whose

    def add_item(self, bot: str, user: str, item: str) -> None:
        """Record (again) that `item` is one of `user`'s memories in `bot`."""
        with self.engine.begin() as conn:
            conn.execute(delete(ITEMS).where(ITEMS.c.bot == bot, ITEMS.c.id == item))
            conn.execute(ITEMS.insert().values(bot=bot, id=item, user=user, at=time.time()))

    def has_item(self, bot: str, item: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(ITEMS.c.id).where(ITEMS.c.bot == bot, ITEMS.c.id == item)).first() is not None

    def items(self, bot: str, user: str, limit: int) -> list[str]:
        """The ids of a user's memories in a bot, newest first."""
        query = select(ITEMS.c.id).where(ITEMS.c.bot == bot, ITEMS.c.user == user)
        with self.engine.connect() as conn:
            return list(conn.execute(query.order_by(ITEMS.c.at.desc()).limit(limit)).scalars())

    def users_bots(self, user: str) -> list[str]:
        """The bots that keep memories of this user."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(ITEMS.c.bot).where(ITEMS.c.user == user).distinct()).scalars())

    def forget_items(self, user: str, bot: str | None = None) -> int:
        conditions = [ITEMS.c.user == user] + ([ITEMS.c.bot == bot] if bot is not None else [])
        with self.engine.begin() as conn:
            return int(conn.execute(delete(ITEMS).where(*conditions)).rowcount or 0)

"""Long-term memory: the service contract the memory steps use, and what it returns.

Memories are kept per bot (the flow a conversation started on) and per user (a key that stays the
same across conversations, e.g. "telegram:mybot:12345"). A memory is either the user's own (only
that user's conversations ever see it) or the bot's (every user of the bot may be reminded of it).
Beside memories: a key/value profile per user and bot (name, language, preferences) that LLM steps
can put in their prompt, and a knowledge base of documents uploaded for a bot. The runtime's
implementation is `runtime.ai.memory.ChromaMemory`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from nodes.api import NodeContext

Scope = Literal["user", "bot"]
RecallScope = Literal["user", "bot", "both"]


@dataclass(frozen=True, slots=True)
class Memory:
    """A remembered fact found by a search; `similarity` is 1 for the same meaning, 0 for unrelated."""

    text: str
    similarity: float
    scope: Scope
    user: str  # who the bot heard it from
    at: float  # when it was remembered (seconds since the epoch)


@dataclass(frozen=True, slots=True)
class Passage:
    """A piece of an uploaded document found by a knowledge-base search."""

    text: str
    source: str  # the document's name, e.g. "returns.pdf"
    similarity: float


@dataclass(frozen=True, slots=True)
class KnowledgeDocument:
    """A document in a bot's knowledge base."""

    name: str
    kind: str  # "text", "markdown", "pdf" or "html"
    characters: int
    chunks: int
    uploaded_at: float


class MemoryService(Protocol):
    """Memories, profiles and knowledge bases, kept apart per bot and per user."""

    async def remember(self, bot: str, user: str, text: str, *, scope: Scope = "user", flow: str = "") -> None:
        """Keep a fact; the same text remembered twice is kept once."""
        ...

    async def recall(
        self,
        bot: str,
        user: str,
        query: str,
        *,
        scope: RecallScope = "user",
        top_k: int = 3,
        min_similarity: float = 0.0,
    ) -> list[Memory]:
        """The facts closest in meaning to `query`, best first; a user's own facts only ever for that user."""
        ...

    async def search_knowledge(
        self, bot: str, query: str, *, top_k: int = 3, min_similarity: float = 0.0
    ) -> list[Passage]:
        """The passages of the bot's documents closest in meaning to `query`, best first."""
        ...

    async def add_document(self, bot: str, name: str, data: bytes, *, mime: str = "") -> KnowledgeDocument:
        """Read, split and index a document (replacing one of the same name); all or nothing."""
        ...

    async def documents(self, bot: str) -> list[KnowledgeDocument]:
        """The bot's knowledge-base documents, by name."""
        ...

    async def remove_document(self, bot: str, name: str) -> bool:
        """Take a document out of the knowledge base; False if there was none of that name."""
        ...

    async def profile(self, bot: str, user: str) -> dict[str, str]:
        """What the bot knows about this user (name, language, preferences…), by key."""
        ...

    async def set_profile(self, bot: str, user: str, key: str, value: str) -> None:
        """Set one profile entry (an empty value removes it)."""
        ...

    async def forget(self, bot: str, user: str, key: str | None = None) -> int:
        """Forget one profile entry, or (no key) everything this user told this bot; returns how much went."""
        ...

    async def erase_user(self, user: str) -> int:
        """Erase everything kept about a user in every bot: memories and profile; returns how much went."""
        ...

    async def export_user(self, user: str) -> dict[str, Any]:
        """Everything kept about a user in every bot: {"memories": [...], "profiles": {bot: {key: value}}}."""
        ...


def memory_of(ctx: NodeContext) -> MemoryService:
    """The conversation's memory service, or an error a builder understands."""
    service = ctx.services.memory
    if service is None:
        raise RuntimeError("Long-term memory is not set up on this server, so memory steps cannot run.")
    return service


def last_message(ctx: NodeContext) -> str:
    """What the user sent in this turn (the text, or the pressed button's value)."""
    return ctx.heard.answer.strip() if ctx.heard is not None else ""


def numbered(items: Sequence[str]) -> str:
    """Items one a line, for a prompt: "1. …"."""
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))

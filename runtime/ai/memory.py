"""Long-term memory on chromadb: what users told a bot, facts for a whole bot, knowledge bases.

Implements `nodes.ai.memory.MemoryService`. The vectors come from the embedder it is given (the
offline MiniLM model by default); chromadb only stores and searches them, in collections scoped
per bot (see runtime.ai.chroma). A user's recall compares the query with that user's own vectors
only, found by id through the database (no metadata filter, and one user's memories cannot come
back in another user's search). Profiles, which memory is whose, and the list of documents are in
the runtime's database (runtime.ai.memory_tables).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from nodes.ai.memory import KnowledgeDocument, Memory, Passage, RecallScope, Scope
from nodes.api import Embedder
from runtime.ai import chroma
from runtime.ai.documents import passages, read_document
from runtime.ai.memory_tables import KnowledgeEntry, MemoryTables

log = logging.getLogger(__name__)
LONGEST_FACT = 2000  # characters kept of one remembered fact
LONGEST_VALUE = 2000  # characters of one profile entry
BATCH = 1000  # items per chromadb write
CANDIDATES = 2000  # a user's newest memories a recall compares (a user rarely has more)


class MemoryStoreError(RuntimeError):
    """The vector store refused an operation; the message says what to do."""


class ChromaMemory:
    """Memories, profiles and knowledge bases for every bot of a deployment."""

    def __init__(self, collections: chroma.Collections, engine: Engine, embedder: Embedder) -> None:
        self.collections = collections
        self.tables = MemoryTables(engine)
        self.embedder = embedder

    @classmethod
    def for_data_folder(cls, data: Path, engine: Engine, embedder: Embedder | None = None) -> ChromaMemory:
        """chromadb's embedded store in `<data>/memory/` (made on first use)."""
        return cls(chroma.Collections(chroma.persistent(Path(data) / "memory")), engine, embedder or _local())

    @classmethod
    def from_url(
        cls, url: str, engine: Engine, embedder: Embedder | None = None, *, headers: dict[str, str] | None = None
    ) -> ChromaMemory:
        """A chromadb server, e.g. http://chroma:8000 (for deployments on more than one machine)."""
        return cls(chroma.Collections(chroma.remote(url, headers)), engine, embedder or _local())

    # memories

    async def remember(self, bot: str, user: str, text: str, *, scope: Scope = "user", flow: str = "") -> None:
        """Keep a fact; the same text remembered twice is kept once (with the later time)."""
        text = " ".join(text.split())[:LONGEST_FACT]
        if not text:
            return
        [vector] = await self.embedder.embed([text])
        meta = {"bot": bot, "user": user, "flow": flow, "scope": scope, "at": time.time()}
        if scope == "bot":
            await asyncio.to_thread(self._upsert, chroma.bot_collection(bot), chroma.digest(text), vector, text, meta)
            return
        name, item = chroma.memory_collection(bot), chroma.digest(f"{user}\n{text}")
        known = await asyncio.to_thread(self.tables.has_item, bot, item)
        await asyncio.to_thread(self._upsert, name, item, vector, text, meta)
        try:
            await asyncio.to_thread(self.tables.add_item, bot, user, item)
        except BaseException:  # not recorded as theirs: not kept either (unless it was kept before)
            if not known:
                await asyncio.shield(asyncio.to_thread(self._delete, name, [item]))
            raise

    def _upsert(self, name: str, item: str, vector: list[float], text: str, meta: dict[str, Any]) -> None:
        with _translated():
            self.collections.writable(name).upsert(ids=[item], embeddings=[vector], documents=[text], metadatas=[meta])

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
        """The facts closest in meaning to `query`, best first (at least `min_similarity` alike)."""
        [vector] = await self.embedder.embed([query])
        found = await asyncio.to_thread(self._search, bot, user, scope, vector, top_k)
        memories = [
            Memory(text, similarity, meta["scope"], meta["user"], meta["at"])
            for text, similarity, meta in found
            if similarity >= min_similarity
        ]
        return memories[:top_k]

    def _search(
        self, bot: str, user: str, scope: RecallScope, vector: list[float], top_k: int
    ) -> list[tuple[str, float, Any]]:
        out = []
        if scope in ("user", "both"):
            out += self._users(bot, user, vector, top_k)
        if scope in ("bot", "both"):
            out += self._query(chroma.bot_collection(bot), vector, top_k)
        return sorted(out, key=lambda hit: -hit[1])

    def _users(self, bot: str, user: str, vector: list[float], top_k: int) -> list[tuple[str, float, Any]]:
        """Exact search over the user's own vectors (a few hundred at most, usually)."""
        import numpy as np

        ids = self.tables.items(bot, user, CANDIDATES)
        handle = self.collections.existing(chroma.memory_collection(bot)) if ids else None
        if handle is None:
            return []
        got = handle.get(ids=ids, include=["embeddings"])  # the texts of the best few only, after
        if not got["ids"]:
            return []
        similarity = np.asarray(got["embeddings"], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
        best = {got["ids"][i]: float(similarity[i]) for i in np.argsort(-similarity)[:top_k]}
        texts = handle.get(ids=list(best), include=["documents", "metadatas"])
        hits = zip(texts["ids"], texts["documents"], texts["metadatas"], strict=True)
        return [(text, best[item], meta) for item, text, meta in hits]

    def _query(self, name: str, vector: list[float], top_k: int, retry: bool = True) -> list[tuple[str, float, Any]]:
        from chromadb.errors import NotFoundError

        handle = self.collections.existing(name)
        if handle is None:
            return []
        try:
            with _translated():
                got = handle.query(
                    query_embeddings=[vector], n_results=top_k, include=["documents", "metadatas", "distances"]
                )
        except NotFoundError:  # deleted by another worker since we cached it
            self.collections.forget_handle(name)
            return self._query(name, vector, top_k, retry=False) if retry else []
        return [
            (text, 1.0 - float(distance), meta)
            for text, distance, meta in zip(got["documents"][0], got["distances"][0], got["metadatas"][0], strict=True)
        ]

    # knowledge base

    async def search_knowledge(
        self, bot: str, query: str, *, top_k: int = 3, min_similarity: float = 0.0
    ) -> list[Passage]:
        """The passages of the bot's documents closest in meaning to `query`, best first."""
        [vector] = await self.embedder.embed([query])
        found, current = await asyncio.to_thread(self._knowledge, bot, vector, top_k)
        return [
            Passage(text, meta["source"], similarity)
            for text, similarity, meta in found
            if similarity >= min_similarity and current.get(meta["source"]) == meta.get("generation")
        ][:top_k]

    def _knowledge(self, bot: str, vector: list[float], top_k: int) -> tuple[list[Any], dict[str, str]]:
        """Passages, with a margin: a document being replaced (or one whose removal was cut short)
        still has passages of another generation than the table's, and those are left out."""
        found = self._query(chroma.knowledge_collection(bot), vector, top_k * 3)
        return found, {entry.name: entry.generation for entry in self.tables.documents(bot)}

    async def add_document(self, bot: str, name: str, data: bytes, *, mime: str = "") -> KnowledgeDocument:
        """Read, split and index a document, replacing one of the same name. Raises
        UnreadableDocument (nothing is stored) when it cannot be read; on any failure the
        knowledge base is left as it was."""
        doc = await asyncio.to_thread(read_document, name, data, mime)
        pieces = await asyncio.to_thread(passages, doc.text)
        vectors = await self.embedder.embed(pieces)
        entry = KnowledgeEntry(doc.name, doc.kind, len(doc.text), len(pieces), uuid.uuid4().hex, time.time())
        ids = _ids(entry)
        metas = [{"source": doc.name, "chunk": n, "generation": entry.generation} for n in range(len(pieces))]
        collection = chroma.knowledge_collection(bot)
        old = self.tables.document(bot, doc.name)
        try:
            await asyncio.to_thread(self._add, collection, ids, vectors, pieces, metas)
            self.tables.put_document(bot, entry)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self._delete, collection, ids))
            raise
        if old is not None:
            await asyncio.to_thread(self._delete, collection, _ids(old))
        log.info("knowledge document added", extra={"flow_id": bot, "document": doc.name, "chunks": len(pieces)})
        return _public(entry)

    def _add(self, name: str, ids: list[str], vectors: list[list[float]], texts: list[str], metas: list[Any]) -> None:
        with _translated():
            handle = self.collections.writable(name)
            for start in range(0, len(ids), BATCH):
                end = start + BATCH
                handle.add(
                    ids=ids[start:end],
                    embeddings=vectors[start:end],
                    documents=texts[start:end],
                    metadatas=metas[start:end],
                )

    def _delete(self, name: str, ids: list[str]) -> None:
        handle = self.collections.existing(name)
        if handle is not None:
            for start in range(0, len(ids), BATCH):
                handle.delete(ids=ids[start : start + BATCH])

    async def documents(self, bot: str) -> list[KnowledgeDocument]:
        """The bot's knowledge-base documents, by name."""
        return [_public(entry) for entry in self.tables.documents(bot)]

    async def remove_document(self, bot: str, name: str) -> bool:
        """Take a document out of the knowledge base; False if there was none of that name."""
        entry = self.tables.document(bot, name)
        if entry is None or not self.tables.remove_document(bot, name):
            return False
        await asyncio.to_thread(self._delete, chroma.knowledge_collection(bot), _ids(entry))
        return True

    # profiles, forgetting, erasing

    async def profile(self, bot: str, user: str) -> dict[str, str]:
        """What the bot knows about this user, by key."""
        return self.tables.profile(bot, user)

    async def set_profile(self, bot: str, user: str, key: str, value: str) -> None:
        """Set one profile entry; an empty value removes it."""
        key = key.strip()
        if not key:
            raise ValueError("A profile entry needs a name, such as “language”.")
        self.tables.set_profile(bot, user, key, " ".join(value.split())[:LONGEST_VALUE])

    async def forget(self, bot: str, user: str, key: str | None = None) -> int:
        """Forget one profile entry, or everything this user told this bot (their memories, the
        bot-wide facts they gave, their profile); returns how many items went."""
        if key is not None:
            return self.tables.forget_profile(user, bot, key.strip())
        gone = 0
        for name in (chroma.memory_collection(bot), chroma.bot_collection(bot)):
            gone += await asyncio.to_thread(self._delete_said_by, name, user)
        self.tables.forget_items(user, bot)
        return gone + self.tables.forget_profile(user, bot)

    async def erase_user(self, user: str) -> int:
        """Erase everything kept about a user in every bot; returns how many items went. Every
        memory collection is searched by metadata (slow on big stores, but it also finds an item
        whose database record a crash lost)."""
        total = 0
        for name in await asyncio.to_thread(self.collections.names):
            if name.startswith(("m-", "b-")):
                total += await asyncio.to_thread(self._delete_said_by, name, user)
        self.tables.forget_items(user)
        total += self.tables.forget_profile(user)
        log.info("user erased from memory", extra={"items": total})  # never the user key: it is personal
        return total

    async def export_user(self, user: str) -> dict[str, Any]:
        """Everything kept about a user in every bot: their memories and the bot-wide facts they
        gave (text, bot, when), and their profiles."""
        memories: list[dict[str, Any]] = []
        for name in await asyncio.to_thread(self.collections.names):
            if name.startswith(("m-", "b-")):
                memories += await asyncio.to_thread(self._said_by, name, user)
        memories.sort(key=lambda m: (m["bot"], m["at"]))
        return {"memories": memories, "profiles": self.tables.profiles(user)}

    def users_holding(self, holds: Callable[[str], bool]) -> set[str]:
        """The users whose profile entries, memories or bot-wide facts hold what `holds` looks for (a
        person searched by email or phone). Reads every memory collection through: blocking, and slow
        on big stores; run it in a thread."""
        found = self.tables.users_with_profile(holds)
        for name in self.collections.names():
            if name.startswith(("m-", "b-")):
                found |= self._holding(name, holds)
        return found

    def _holding(self, name: str, holds: Callable[[str], bool]) -> set[str]:
        handle = self.collections.existing(name)
        out: set[str] = set()
        offset = 0
        while handle is not None:
            got = handle.get(include=["documents", "metadatas"], limit=BATCH, offset=offset)
            for text, meta in zip(got["documents"], got["metadatas"], strict=True):
                if text and meta and meta.get("user") and holds(text):
                    out.add(str(meta["user"]))
            if len(got["ids"]) < BATCH:
                break
            offset += BATCH
        return out

    def _said_by(self, name: str, user: str) -> list[dict[str, Any]]:
        handle = self.collections.existing(name)
        if handle is None:
            return []
        got = handle.get(where={"user": user}, include=["documents", "metadatas"])
        return [
            {"bot": m.get("bot", ""), "text": text, "scope": m.get("scope", ""), "at": m.get("at", 0.0)}
            for text, m in zip(got["documents"], got["metadatas"], strict=True)
        ]

    def _delete_said_by(self, name: str, user: str) -> int:
        handle = self.collections.existing(name)
        if handle is None:
            return 0
        ids = handle.get(where={"user": user}, include=[])["ids"]
        if ids:
            handle.delete(ids=ids)
        return len(ids)


def _ids(entry: KnowledgeEntry) -> list[str]:
    return [f"{entry.generation}-{n}" for n in range(entry.chunks)]


def _public(entry: KnowledgeEntry) -> KnowledgeDocument:
    return KnowledgeDocument(entry.name, entry.kind, entry.characters, entry.chunks, entry.uploaded_at)


def _local() -> Embedder:
    from runtime.ai.local_embedder import LocalEmbedder

    return LocalEmbedder()


class _translated:
    """chromadb's complaint about vector sizes as a sentence someone can act on."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is not None and "dimension" in str(exc).lower():
            raise MemoryStoreError(
                "These memories were stored with a different embedding model than the one set up now; "
                "switch back to that model, or erase the memory folder and let the bot learn again."
            ) from exc

"""chromadb, held at arm's length: the client made on first use, collections by name, cached.

Every call here is synchronous and CPU-bound; the memory service runs them in worker threads.
chromadb is imported only when the first client is made (starting Chatloom never pays for it),
and every collection is made with no embedding function: vectors always come from our embedder,
so chromadb's default one (which downloads a model) is never used.

Collections are per bot; names are hashes, as chromadb allows only [a-zA-Z0-9._-] there:

- ``m-<bot>``: what users told one bot, each item with the user it came from. A user's recall
  never asks chromadb to filter by that user (a `where=` filter cost 170 ms at 100,000 items
  here): the memory service reads the user's ids from the database and fetches those vectors.
  One collection per user was tried first: chromadb opens each collection's index on first use
  (about 45 ms) and keeps it in memory, which at 1,000 users meant 358 ms a recall and 3.4 GB;
- ``b-<bot>``: facts one bot keeps for every user (each with the user it came from);
- ``k-<bot>``: passages of the bot's knowledge-base documents.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CACHED = 4096  # collection handles kept (a handle is small; fetching one costs a few ms)
SPACE = {"hnsw": {"space": "cosine"}}


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def memory_collection(bot: str) -> str:
    return f"m-{digest(bot)}"


def bot_collection(bot: str) -> str:
    return f"b-{digest(bot)}"


def knowledge_collection(bot: str) -> str:
    return f"k-{digest(bot)}"


def persistent(folder: Path) -> Callable[[], Any]:
    """Makes chromadb's embedded client on a folder (one per folder and process)."""

    def connect() -> Any:
        import chromadb
        from chromadb.config import Settings

        folder.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(folder), settings=Settings(anonymized_telemetry=False))

    return connect


def remote(url: str, headers: dict[str, str] | None = None) -> Callable[[], Any]:
    """Makes a client of a chromadb server, e.g. http://chroma:8000."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"The chromadb address {url!r} must look like http://host:8000.")
    ssl = parts.scheme == "https"
    port = parts.port or (443 if ssl else 8000)

    def connect() -> Any:
        import chromadb
        from chromadb.config import Settings

        return chromadb.HttpClient(
            host=parts.hostname or "",
            port=port,
            ssl=ssl,
            headers=headers or {},
            settings=Settings(anonymized_telemetry=False),
        )

    return connect


class Collections:
    """Collection handles by name; a missing collection is made only by `writable`."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._client: Any = None
        self._handles: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _remember(self, name: str, handle: Any) -> Any:
        with self._lock:
            self._handles[name] = handle
            self._handles.move_to_end(name)
            while len(self._handles) > CACHED:
                self._handles.popitem(last=False)
        return handle

    def existing(self, name: str) -> Any | None:
        """The collection, or None when nothing was ever stored there."""
        with self._lock:
            handle = self._handles.get(name)
        if handle is not None:
            return handle
        from chromadb.errors import NotFoundError

        try:
            handle = self.client().get_collection(name, embedding_function=None)
        except NotFoundError:
            return None
        return self._remember(name, handle)

    def writable(self, name: str) -> Any:
        """The collection, made now if it does not exist."""
        handle = self.existing(name)
        if handle is None:
            handle = self.client().get_or_create_collection(name, embedding_function=None, configuration=SPACE)
            self._remember(name, handle)
        return handle

    def forget_handle(self, name: str) -> None:
        """Drop a cached handle (the collection was deleted, perhaps by another worker)."""
        with self._lock:
            self._handles.pop(name, None)

    def drop(self, name: str) -> int:
        """Delete a whole collection; returns how many items it held."""
        handle = self.existing(name)
        if handle is None:
            return 0
        count = int(handle.count())
        from chromadb.errors import NotFoundError

        with contextlib.suppress(NotFoundError):  # another worker deleted it first
            self.client().delete_collection(name)
        self.forget_handle(name)
        return count

    def names(self) -> list[str]:
        """Every collection's name (page by page: a server may hold very many)."""
        client, page = self.client(), 1000
        out: list[str] = []
        while True:
            batch = client.list_collections(limit=page, offset=len(out))
            out.extend(c.name for c in batch)
            if len(batch) < page:
                return out

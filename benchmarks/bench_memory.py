"""Recall from long-term memory at 10,000 and 100,000 memories in one bot, scoped per user.

The store is filled with random unit vectors (384 dimensions, like the offline model's), in
batches: embedding 100,000 real sentences would take minutes and measure the embedder, not the
store. Queries go through `ChromaMemory.recall` with precomputed vectors, so the figures are the
store's part of a recall (thread hop, the user's ids from the database, their vectors from
chromadb, the comparison); one real query embedding costs about 1000 / (embeddings per second) ms
on top, reported beside them. The baseline is what this avoids: the same collection searched by
chromadb with a `where=` filter on the user.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flows.db import make_engine
from runtime.ai import chroma
from runtime.ai.embeddings import OnnxEmbedder
from runtime.ai.memory import BATCH, ChromaMemory
from runtime.ai.memory_tables import ITEMS

BOT = "bench"
DIMENSIONS = 384
PER_USER = 100  # memories a user has: 100 users at 10,000, 1,000 at 100,000


class Precomputed:
    """Hands back the vector prepared for each query text (the benchmark times the store alone)."""

    def __init__(self) -> None:
        self.vectors: dict[str, list[float]] = {}

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.vectors[t] for t in texts]


def unit_vectors(rng: np.random.Generator, count: int) -> Any:
    v = rng.standard_normal((count, DIMENSIONS)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def embeddings_per_second(seconds: float = 3.0) -> float:
    model = OnnxEmbedder()
    texts = [f"Customer {n} asked whether the order {n * 7} can be delivered on a Saturday morning." for n in range(64)]
    model.embed(texts[:8])  # warm up
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        model.embed(texts)
        done += len(texts)
    return done / (time.perf_counter() - began)


def fill(memory: ChromaMemory, rng: np.random.Generator, size: int, per_user: int) -> list[str]:
    """`size` memories over size // per_user users, stored as `remember` stores them (the bot's
    collection, and which memory is whose in the database); returns the users."""
    users = [f"telegram:bench:{n}" for n in range(max(1, size // per_user))]
    handle = memory.collections.writable(chroma.memory_collection(BOT))
    owners = [users[n // per_user] for n in range(size)]
    for start in range(0, size, BATCH):
        count = min(BATCH, size - start)
        ids = [f"m{start + n}" for n in range(count)]
        handle.add(
            ids=ids,
            embeddings=unit_vectors(rng, count),
            documents=[f"memory {start + n}" for n in range(count)],
            metadatas=[
                {"bot": BOT, "user": owners[start + n], "flow": BOT, "scope": "user", "at": 0.0} for n in range(count)
            ],
        )
        with memory.tables.engine.begin() as conn:
            conn.execute(
                ITEMS.insert(),
                [{"bot": BOT, "id": i, "user": owners[start + n], "at": float(start + n)} for n, i in enumerate(ids)],
            )
    return users


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


async def time_recall(
    memory: ChromaMemory, embedder: Precomputed, rng: np.random.Generator, users: list[str], queries: int
) -> tuple[float, float]:
    times = []
    for n in range(queries):
        text = f"query {n}"
        embedder.vectors[text] = unit_vectors(rng, 1)[0].tolist()
        user = users[int(rng.integers(len(users)))]
        began = time.perf_counter()
        await memory.recall(BOT, user, text, top_k=3)
        times.append(time.perf_counter() - began)
    return percentiles(times[5:])  # the first queries open collections and warm caches


def time_where(handle: Any, rng: np.random.Generator, users: list[str], queries: int) -> tuple[float, float]:
    times = []
    for _ in range(queries):
        vector = unit_vectors(rng, 1)[0].tolist()
        user = users[int(rng.integers(len(users)))]
        began = time.perf_counter()
        handle.query(
            query_embeddings=[vector],
            n_results=3,
            where={"user": user},
            include=["documents", "metadatas", "distances"],
        )
        times.append(time.perf_counter() - began)
    return percentiles(times[5:])


def main(sizes: Sequence[int] = (10_000, 100_000), per_user: int = PER_USER, queries: int = 200) -> dict[str, Any]:
    """Every figure, by size: recall p50/p95 (ours, and chromadb's `where=` filter on the same items), fill time."""
    rng = np.random.default_rng(7)
    out: dict[str, Any] = {"embeddings_per_s": embeddings_per_second(), "sizes": {}}
    with tempfile.TemporaryDirectory() as folder:
        embedder = Precomputed()
        for size in sizes:
            engine = make_engine(f"sqlite:///{Path(folder) / f'chatloom-{size}.db'}")
            memory = ChromaMemory.for_data_folder(Path(folder) / str(size), engine, embedder)
            began = time.perf_counter()
            users = fill(memory, rng, size, per_user)
            filled = time.perf_counter() - began
            p50, p95 = asyncio.run(time_recall(memory, embedder, rng, users, queries))
            same = memory.collections.existing(chroma.memory_collection(BOT))  # the same items, filtered by chromadb
            w50, w95 = time_where(same, rng, users, queries)
            out["sizes"][size] = {
                "users": len(users),
                "p50_ms": p50,
                "p95_ms": p95,
                "where_p50_ms": w50,
                "where_p95_ms": w95,
                "fill_s": filled,
            }
    return out


if __name__ == "__main__":
    print(main())

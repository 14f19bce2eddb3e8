"""Embeddings from a hosted or served model through litellm, in place of the offline MiniLM: an
OpenAI, Mistral, Gemini or Azure embedding model, or one served by Ollama or any OpenAI-compatible
server. Chosen by naming a configured model (Models page or models.toml) in
`CHATLOOM_EMBEDDING_MODEL`; its model id must be an embedding model (text-embedding-3-small,
nomic-embed-text…). Memories stored with one embedder cannot be searched with another.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

from runtime.ai.gateway import describe_error, load_litellm, redact
from runtime.ai.models import ModelStore

BATCH = 96  # texts per request (providers cap a request's inputs)


class EmbeddingError(RuntimeError):
    """The embedding model could not be reached or refused; the message says why, without the key."""


class HostedEmbedder:
    """The `embedder` service on a configured model."""

    def __init__(self, store: ModelStore, name: str, *, timeout: float = 30.0) -> None:
        self.store, self.name, self.timeout = store, name, timeout

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        config = await asyncio.to_thread(self.store.get, self.name)  # models.toml and the database
        if config is None:
            raise EmbeddingError(f"The embedding model “{self.name}” is not set up (add it on the Models page).")
        args = config.litellm_args()
        key = str(args.get("api_key", ""))
        litellm = await asyncio.to_thread(load_litellm, None)  # the first import takes seconds
        out: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            try:
                response = await litellm.aembedding(
                    input=list(texts[start : start + BATCH]), timeout=self.timeout, **args
                )
            except Exception as exc:  # noqa: BLE001 - every provider failure becomes one sentence
                raise EmbeddingError(
                    f"The embedding model “{self.name}” failed: {redact(describe_error(exc), key)}"
                ) from None
            rows = sorted(response.data, key=lambda item: item["index"])
            out += [_unit([float(x) for x in row["embedding"]]) for row in rows]
        return out


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]

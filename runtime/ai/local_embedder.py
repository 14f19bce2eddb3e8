"""The offline embedder as a service: `OnnxEmbedder` built on first use, run off the event loop.

This is the default `Services.embedder`. Any object with `async embed(texts) -> list[list[float]]`
of unit vectors can take its place (a hosted model through litellm, say): the memory service only
sees that contract. Memories stored with one embedder cannot be searched with another of a
different size; the memory service says so instead of mixing them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runtime.ai.embeddings import OnnxEmbedder


class LocalEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX, 384 dimensions) on this machine; loads in about a second."""

    name = "all-MiniLM-L6-v2-int8"

    def __init__(self, model: Path | None = None, tokenizer: Path | None = None, *, threads: int = 1) -> None:
        self._paths = (model, tokenizer)
        self._threads = threads
        self._model: OnnxEmbedder | None = None
        self._lock = threading.Lock()

    def model(self) -> OnnxEmbedder:
        """The loaded model (loaded now if it was not yet)."""
        with self._lock:
            if self._model is None:
                self._model = OnnxEmbedder(*self._paths, threads=self._threads)
            return self._model

    def embed_now(self, texts: Sequence[str]) -> Any:
        """Unit vectors as a float32 array, in this thread."""
        return self.model().embed(list(texts))

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Unit vectors, one per text, computed in a worker thread."""
        vectors = await asyncio.to_thread(self.embed_now, texts)
        return list(vectors.tolist())

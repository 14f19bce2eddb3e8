"""Embeddings from a configured model through litellm (here an OpenAI-compatible fake), used by
long-term memory in place of the offline model; failures are sentences without the key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from runtime.ai.hosted_embedder import EmbeddingError, HostedEmbedder
from runtime.ai.memory import ChromaMemory
from runtime.ai.models import ModelStore
from runtime.ai.setup import attach_ai
from runtime.channels.secretbox import SecretBox
from runtime.engine import Runtime
from tests.fakes.openai import DIMENSIONS, FakeOpenAI
from tests.fakes.server import running

KEY = "sk-embed-0123456789SECRET"


async def test_memories_with_a_hosted_embedding_model(engine: Engine, tmp_path: Path) -> None:
    store = ModelStore(engine, SecretBox.for_data_folder(tmp_path))
    with running(FakeOpenAI()) as fake:
        store.save(
            {
                "name": "emb",
                "provider": "openai",
                "model": "text-embedding-3-small",
                "api_base": fake.api_base,
                "api_key": KEY,
            }
        )
        embedder = HostedEmbedder(store, "emb")
        [vector] = await embedder.embed(["hello world"])
        assert len(vector) == DIMENSIONS and math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-6)
        memory = ChromaMemory.for_data_folder(tmp_path, engine, embedder)
        await memory.remember("shop", "u1", "my dog is called rex")
        await memory.remember("shop", "u1", "i live in porto")
        found = await memory.recall("shop", "u1", "what is my dog called", top_k=1)
    assert [m.text for m in found] == ["my dog is called rex"]
    body, auth = fake.seen[0]
    assert body["model"] == "text-embedding-3-small" and auth == f"Bearer {KEY}"


async def test_failures_are_sentences_without_the_key(engine: Engine, tmp_path: Path) -> None:
    store = ModelStore(engine, SecretBox.for_data_folder(tmp_path))
    store.save({"name": "emb", "provider": "openai", "model": "m", "api_base": "http://127.0.0.1:9/v1", "api_key": KEY})
    with pytest.raises(EmbeddingError) as err:
        await HostedEmbedder(store, "emb", timeout=5).embed(["x"])
    assert "“emb” failed" in str(err.value) and KEY not in str(err.value)
    with pytest.raises(EmbeddingError, match="not set up"):
        await HostedEmbedder(store, "missing").embed(["x"])


def test_chosen_by_configuration(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nodes.registry import Registry

    monkeypatch.setenv("CHATLOOM_EMBEDDING_MODEL", "emb")
    runtime = Runtime(engine, Registry())
    attach_ai(runtime, tmp_path)
    assert isinstance(runtime.services.embedder, HostedEmbedder) and runtime.services.embedder.name == "emb"

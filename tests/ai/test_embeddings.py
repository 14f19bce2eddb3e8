"""The offline embedder: the real MiniLM int8 model from its PyPI package, no torch, no download."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runtime.ai.embeddings import ModelMissing, OnnxEmbedder


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    return OnnxEmbedder()


def test_vectors_are_unit_length_and_of_the_models_size(embedder: OnnxEmbedder) -> None:
    vectors = embedder.embed(["Hello there", "A much longer sentence about refunds, returns and exchanges."])
    assert vectors.shape == (2, 384)
    assert abs(float((vectors**2).sum(axis=1).max()) - 1.0) < 1e-4
    assert embedder.embed([]).shape == (0, 384)


def test_a_paraphrase_is_closer_than_another_topic(embedder: OnnxEmbedder) -> None:
    question, paraphrase, other = embedder.embed(
        ["Where is my order?", "When will my package arrive?", "What is your favourite pizza?"]
    )
    assert float(question @ paraphrase) > float(question @ other) + 0.2


def test_batches_give_the_same_vectors_as_one_at_a_time(embedder: OnnxEmbedder) -> None:
    texts = [f"Sentence number {n} talks about {'shipping ' * (n % 7)}" for n in range(40)]  # two batches
    together = embedder.embed(texts)
    alone = [embedder.embed([t])[0] for t in texts[::13]]
    for row, single in zip(together[::13], alone, strict=True):
        assert float(row @ single) > 0.9999  # padding to the batch's longest text changes nothing


def test_a_text_longer_than_the_model_reads_is_cut_not_refused(embedder: OnnxEmbedder) -> None:
    assert embedder.embed(["word " * 5000]).shape == (1, 384)


def test_heavy_libraries_are_not_imported() -> None:
    assert "torch" not in sys.modules and "sentence_transformers" not in sys.modules


def test_a_model_path_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="does not exist"):
        OnnxEmbedder(model=tmp_path / "nope.onnx")

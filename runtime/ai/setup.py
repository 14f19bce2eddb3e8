"""Hands a runtime its AI services, built from the data folder. Nothing heavy is loaded here:
each model loads on the first step that needs it (starting the app imports no litellm, chromadb,
onnxruntime or speech library)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from runtime.ai.calls import CallLog
from runtime.ai.gateway import Models
from runtime.ai.hosted_embedder import HostedEmbedder
from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.local_llm import shared_model
from runtime.ai.memory import ChromaMemory
from runtime.ai.models import ModelStore
from runtime.ai.speech import LocalSpeech
from runtime.channels.secretbox import SecretBox
from runtime.engine import Runtime
from runtime.media import LocalMedia

MODELS_FILE = "models.toml"
EMBEDDING_MODEL_ENV = "CHATLOOM_EMBEDDING_MODEL"  # a configured model's name, instead of the offline MiniLM
CHROMA_URL_ENV = "CHATLOOM_CHROMA_URL"  # a chromadb server (http://chroma:8000) instead of the data folder
VOICES_ENV = "CHATLOOM_PIPER_VOICES"  # de=/voices/de_DE-thorsten-medium.onnx,anna=/voices/anna.onnx
PUBLIC_URL_ENV = "CHATLOOM_PUBLIC_URL"  # https://bots.example.com: where platforms fetch the voice replies


def _threads(env: str) -> int:
    """CPU threads for a model: one unless the environment says more (one holds steady under load)."""
    try:
        return max(1, int(os.environ.get(env, "1")))
    except ValueError:
        return 1


def _voices(setting: str) -> dict[str, str]:
    """More piper voices, by language code or by a name flows may choose: "de=/path/de.onnx,anna=/path/a.onnx"."""
    pairs = (item.partition("=") for item in setting.split(",") if item.strip())
    return {name.strip(): path.strip() for name, _, path in pairs if name.strip() and path.strip()}


@dataclass
class AI:
    """The parts the builder's pages and the HTTP API manage."""

    models: Models

    @property
    def store(self) -> ModelStore:
        return self.models.store

    @property
    def calls(self) -> CallLog:
        return self.models.calls


def attach_ai(runtime: Runtime, data: Path) -> AI:
    """Give `runtime` language models, embeddings, memory and speech from the data folder `data`."""
    services = runtime.services
    store = ModelStore(runtime.engine, lambda: SecretBox.for_data_folder(data), data / MODELS_FILE)
    models = Models(store, CallLog(runtime.engine), shared_model())
    services.models = models
    if services.embedder is None:
        hosted = os.environ.get(EMBEDDING_MODEL_ENV)
        services.embedder = (
            HostedEmbedder(store, hosted) if hosted else LocalEmbedder(threads=_threads("CHATLOOM_EMBED_THREADS"))
        )
    if services.memory is None:
        url = os.environ.get(CHROMA_URL_ENV)
        services.memory = (
            ChromaMemory.from_url(url, runtime.engine, services.embedder)
            if url
            else ChromaMemory.for_data_folder(data, runtime.engine, services.embedder)
        )
    if services.speech is None:
        services.speech = LocalSpeech.for_data_folder(
            data, cpu_threads=_threads("CHATLOOM_SPEECH_THREADS"), voices=_voices(os.environ.get(VOICES_ENV, ""))
        )
    if services.media is None:  # before the channels are built: they register their file readers on it
        services.media = LocalMedia.for_data_folder(data, base_url=os.environ.get(PUBLIC_URL_ENV, ""))
    ai = AI(models=models)
    runtime.ai = ai
    return ai

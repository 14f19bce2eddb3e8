"""The built-in model: tokens a second on one thread, straight from llama.cpp (the baseline) and
through the gateway a flow uses (litellm's custom provider, the call record), in the same run.
Also the AI router's decision time by similarity (the message's embedding and the comparison)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from flows.db import make_engine
from nodes.ai.llm import ChatRequest
from runtime.ai.calls import CallLog
from runtime.ai.gateway import Models
from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.local_llm import LocalModel
from runtime.ai.models import ModelStore
from runtime.channels.secretbox import SecretBox

PROMPTS = [
    "Write two sentences about the sea.",
    "Explain what a chatbot is in two sentences.",
    "Give three tips for a good night's sleep.",
]
TOKENS = 64


async def _rounds(local: LocalModel, models: Models, rounds: int) -> tuple[list[float], list[float]]:
    """Tokens a second of each answer, direct and through the gateway, interleaved so that other
    load on the machine hits both alike."""
    direct, gateway = [], []
    for n in range(rounds):
        messages = [{"role": "user", "content": PROMPTS[n % len(PROMPTS)]}]
        began = time.perf_counter()
        out = local.complete(messages, temperature=0.0, max_tokens=TOKENS, json=False)
        direct.append(int(out["usage"]["completion_tokens"]) / (time.perf_counter() - began))
        began = time.perf_counter()
        answer = await models.chat(ChatRequest(messages=messages, temperature=0.0, max_tokens=TOKENS))
        gateway.append(answer.tokens_out / (time.perf_counter() - began))
    return direct, gateway


async def _router(embedder: LocalEmbedder, rounds: int) -> float:
    """Median ms to embed one message and compare it with 30 example phrases."""
    from nodes.ai.router import best_route

    examples = [f"example phrase number {n} about topic {n % 5}" for n in range(30)]
    vectors = await embedder.embed(examples)
    pairs = [(f"r{n % 5}", v) for n, v in enumerate(vectors)]
    times = []
    for n in range(rounds):
        began = time.perf_counter()
        [vector] = await embedder.embed([f"a user message about topic {n % 5}"])
        best_route(vector, pairs)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main(rounds: int = 6) -> dict[str, float]:
    local = LocalModel(threads=1)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine("sqlite://")
        models = Models(ModelStore(engine, SecretBox.for_data_folder(Path(folder))), CallLog(engine), local)
        asyncio.run(_rounds(local, models, 1))  # loading the model and importing litellm are not a call's cost
        direct, gateway = asyncio.run(_rounds(local, models, rounds))
    router_ms = asyncio.run(_router(LocalEmbedder(), 50))
    return {
        "direct_tokens_per_s": statistics.median(direct),
        "gateway_tokens_per_s": statistics.median(gateway),
        "gateway_ratio": statistics.median(gateway) / statistics.median(direct),
        "router_ms": router_ms,
    }


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value:.3f}")

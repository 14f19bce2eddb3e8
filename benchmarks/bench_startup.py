"""Start-up: what `chatloom --help` and the runtime server import, and how long that takes; and the
whole app with the builder and the AI services attached, before and after the AI models load."""

from __future__ import annotations

import subprocess
import sys
import time

HEAVY = ("litellm", "chromadb", "torch", "whisper", "faster_whisper", "nicegui")
AI_HEAVY = ("litellm", "chromadb", "torch", "faster_whisper", "ctranslate2", "onnxruntime", "xllamacpp", "piper", "av")
APP = """
import asyncio, resource, sys, tempfile, time
from pathlib import Path
t = time.perf_counter()
from flows.db import make_engine
from nodes.registry import Registry
from runtime.engine import Runtime
from runtime.api import create_app
from runtime.ai.setup import attach_ai
from builder.app import mount
data = Path(tempfile.mkdtemp())
runtime = Runtime(make_engine(f"sqlite:///{data / 'chatloom.db'}"), Registry.from_entry_points())
attach_ai(runtime, data)
mount(create_app(runtime), runtime, data)
app_s, app_mb = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
t = time.perf_counter()
from nodes.ai.llm import ChatRequest
s = runtime.services
asyncio.run(s.models.chat(ChatRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=4)))
asyncio.run(s.embedder.embed(["hello"]))
if s.memory is not None:
    asyncio.run(s.memory.recall("bot", "user", "hello"))
s.speech.transcribe_now(s.speech.synthesize_now("Hello there.").audio)
ai_s, ai_mb = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(app_s, app_mb, ",".join(heavy), ai_s, ai_mb, sep="\\n")
"""


def app_probe() -> dict[str, object]:
    """The app with the builder and AI attached: seconds, peak MB, heavy libraries imported; then
    the same after one call to each AI part (model, embedder, memory, speech both ways)."""
    out = subprocess.run(
        [sys.executable, "-c", APP % (AI_HEAVY,)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[-5:]
    return {
        "app_s": float(out[0]),
        "app_mb": float(out[1]),
        "app_heavy": [m for m in out[2].split(",") if m],
        "ai_loaded_s": float(out[3]),
        "ai_loaded_mb": float(out[4]),
    }


PROBE = (
    "import sys, time; t = time.perf_counter(); import {module}; d = time.perf_counter() - t; "
    "print(d); print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))"
)


def _probe(module: str) -> tuple[float, list[str]]:
    best, heavy = float("inf"), []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        best = min(best, float(out[0]))
        heavy = [m for m in out[1].split(",") if m] if len(out) > 1 else []
    return best, heavy


def main() -> dict[str, object]:
    cli_s, cli_heavy = _probe("chatloom.cli")
    server_s, server_heavy = _probe("runtime.api")
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "chatloom", "--help"], capture_output=True, check=True)
    help_s = time.perf_counter() - began
    return {
        "cli_import_ms": cli_s * 1000,
        "help_ms": help_s * 1000,
        "server_import_ms": server_s * 1000,
        "heavy_imported": sorted(set(cli_heavy) | set(server_heavy)),
        **app_probe(),
    }


if __name__ == "__main__":
    print(main())

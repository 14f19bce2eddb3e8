"""Memory on a chromadb server (`chroma run`, the server chromadb's package ships) instead of the
data folder: the same remembering, recalling, knowledge base and erasing, over HTTP."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.memory import ChromaMemory

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    program = str(CHROMA) if CHROMA.exists() else shutil.which("chroma")
    assert program, "chromadb's `chroma` command is installed with the chromadb package"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path_factory.mktemp("chroma-server")
    process = subprocess.Popen(
        [program, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the chromadb server did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_memories_and_documents_on_a_chromadb_server(server: str, engine: Engine) -> None:
    memory = ChromaMemory.from_url(server, engine, LocalEmbedder())
    await memory.remember("shop", "telegram:shop:1", "My favourite colour is green.")
    await memory.remember("shop", "telegram:shop:2", "I live in Lisbon.")
    await memory.add_document("shop", "hours.md", b"# Opening hours\n\nWe are open from 9 to 5, Monday to Friday.")
    found = await memory.recall("shop", "telegram:shop:1", "What colour do I like?", top_k=1)
    assert [m.text for m in found] == ["My favourite colour is green."]
    assert await memory.recall("shop", "telegram:shop:2", "What colour do I like?", min_similarity=0.5) == []
    [passage] = await memory.search_knowledge("shop", "When are you open?", top_k=1)
    assert passage.source == "hours.md" and "9 to 5" in passage.text
    assert await memory.erase_user("telegram:shop:1") == 1
    assert await memory.recall("shop", "telegram:shop:1", "What colour do I like?", min_similarity=0) == []


def test_a_bad_server_address_is_refused_with_a_sentence(engine: Engine) -> None:
    with pytest.raises(ValueError, match="must look like http://host:8000"):
        ChromaMemory.from_url("chroma:8000", engine, LocalEmbedder())

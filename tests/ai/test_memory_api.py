"""Uploading knowledge-base documents over the HTTP API (headless use): clear errors, nothing half-saved."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from flows.document import parse_flow
from nodes.api import Services
from nodes.registry import Registry
from runtime.ai.chroma import knowledge_collection
from runtime.ai.documents import MAX_SIZE
from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.memory import ChromaMemory
from runtime.api import create_app
from runtime.engine import Runtime
from tests.access import api_headers
from tests.ai.test_memory_documents import make_pdf

URL = "/api/bots/help/knowledge"


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture
def memory(tmp_path: Path, engine: Engine, embedder: LocalEmbedder) -> ChromaMemory:
    return ChromaMemory.for_data_folder(tmp_path, engine, embedder)


async def client_for(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://chatloom.test", headers=api_headers(app)
        ) as c:
            yield c


def with_flow(runtime: Runtime) -> Runtime:
    doc = {"id": "help", "name": "Help", "start": "s", "nodes": [{"id": "s", "type": "flow.start"}], "edges": []}
    runtime.flows.save_draft(parse_flow(json.dumps(doc)))
    return runtime


@pytest.fixture
async def client(engine: Engine, builtins: Registry, memory: ChromaMemory) -> AsyncIterator[httpx.AsyncClient]:
    runtime = with_flow(Runtime(engine, builtins, services=Services(memory=memory)))
    async for c in client_for(runtime):
        yield c


async def test_upload_list_search_and_remove(client: httpx.AsyncClient, memory: ChromaMemory) -> None:
    pdf = make_pdf("Every kettle is covered for two years.")
    r = await client.post(URL, files={"file": ("warranty.pdf", pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "warranty.pdf" and r.json()["kind"] == "pdf" and r.json()["chunks"] == 1
    r = await client.post(URL, files={"file": ("hours.html", b"<p>Open 9 to 5.</p><script>x()</script>", "text/html")})
    assert r.status_code == 201
    assert [d["name"] for d in (await client.get(URL)).json()] == ["hours.html", "warranty.pdf"]
    found = await memory.search_knowledge("help", "How long is the kettle guarantee?", top_k=1)
    assert found[0].source == "warranty.pdf"
    assert (await client.delete(URL + "/warranty.pdf")).status_code == 204
    r = await client.delete(URL + "/warranty.pdf")
    assert r.status_code == 404 and r.json() == {
        "detail": "The knowledge base of 'help' has no document 'warranty.pdf'."
    }


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        (
            "broken.pdf",
            b"%PDF-1.4\n1 0 obj <<",
            "“broken.pdf” could not be read as a PDF: the file is damaged or is not a PDF.",
        ),
        ("photo.jpg", b"\xff\xd8\xff", "“photo.jpg” is a kind of file the knowledge base cannot read."),
        ("empty.txt", b"", "“empty.txt” has no text in it."),
    ],
)
async def test_a_bad_file_gets_one_sentence_and_nothing_is_kept(
    client: httpx.AsyncClient, memory: ChromaMemory, name: str, data: bytes, said: str
) -> None:
    r = await client.post(URL, files={"file": (name, data)})
    assert r.status_code == 422
    assert r.json()["detail"].startswith(said)
    assert await memory.documents("help") == []
    assert memory.collections.existing(knowledge_collection("help")) is None


async def test_missing_file_unknown_bot_and_too_large(client: httpx.AsyncClient) -> None:
    r = await client.post(URL, data={"other": "x"}, files={"nothing": ("a.txt", b"x")})
    assert r.status_code == 422 and r.json() == {"detail": "“file” is missing."}
    r = await client.post("/api/bots/nope/knowledge", files={"file": ("a.txt", b"hello")})
    assert r.status_code == 404 and r.json() == {"detail": "There is no flow 'nope'."}
    r = await client.post(URL, files={"file": ("big.txt", b"x" * (MAX_SIZE + 100 * 1024))})
    assert r.status_code == 413
    r = await client.post("/api/flows/help/conversations", content=b"x" * (MAX_SIZE // 2))  # other routes keep theirs
    assert r.status_code == 413


async def test_without_memory_the_server_says_so(engine: Engine, builtins: Registry) -> None:
    async for c in client_for(with_flow(Runtime(engine, builtins))):
        r = await c.post(URL, files={"file": ("a.txt", b"hello")})
        assert r.status_code == 503 and r.json() == {"detail": "The knowledge base is not set up on this server."}

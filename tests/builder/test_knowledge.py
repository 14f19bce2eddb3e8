"""The knowledge-base page: upload documents for a bot, see them, remove them; bad files are refused."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from nicegui import core, ui
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing.general import nicegui_reset_globals, prepare_simulation
from nicegui.testing.user import User
from sqlalchemy.engine import Engine

from builder.app import add_pages
from builder.context import Builder
from builder.pages import knowledge
from flows.document import parse_flow
from nodes.api import Services
from nodes.registry import Registry
from runtime.ai.local_embedder import LocalEmbedder
from runtime.ai.memory import ChromaMemory
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from tests.access import sign_in
from tests.ai.test_memory_documents import make_pdf


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture
def memory(tmp_path: Path, engine: Engine, embedder: LocalEmbedder) -> ChromaMemory:
    return ChromaMemory.for_data_folder(tmp_path, engine, embedder)


@pytest.fixture
async def user(engine: Engine, builtins: Registry, memory: ChromaMemory) -> AsyncIterator[User]:
    """The builder's pages with this one registered, as tests/builder/conftest.py does for the others."""
    runtime = Runtime(engine, builtins, services=Services(memory=memory))
    builder = Builder(runtime, Channels(runtime, ChannelStore(engine, SecretBox(Fernet.generate_key()))))
    doc = {"id": "help", "name": "Help desk", "start": "s", "nodes": [{"id": "s", "type": "flow.start"}], "edges": []}
    builder.flows.save_draft(parse_flow(json.dumps(doc)))
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            prepare_simulation()
            add_pages(builder)
            if not any(getattr(r, "path", "") == "/flows/{flow_id}/knowledge" for r in core.app.routes):
                knowledge.register(builder)
            ui.run(storage_secret="test secret")
            transport = httpx.ASGITransport(core.app)
            async with (
                core.app.router.lifespan_context(core.app),
                httpx.AsyncClient(transport=transport, base_url="http://test") as client,
            ):
                sign_in(client, builder.access)
                yield User(client)
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)


async def upload(user: User, name: str, data: bytes, mime: str = "") -> None:
    element = user.find(marker="upload").elements.pop()
    assert isinstance(element, ui.upload)
    await element.handle_uploads([SmallFileUpload(name=name, content_type=mime, _data=data)])


async def test_upload_see_and_remove_documents(user: User, memory: ChromaMemory) -> None:
    await user.open("/flows/help/knowledge")
    await user.should_see("Help desk: knowledge base")
    await user.should_see(marker="empty")
    await upload(user, "warranty.pdf", make_pdf("Every kettle is covered for two years."), "application/pdf")
    await user.should_see(marker="document-warranty.pdf", retries=100)  # the upload is handled in the background
    await user.should_see("pdf, 38 characters, 1 passage")
    await upload(user, "faq.md", b"# Gift cards\n\nGift cards never expire.")
    await user.should_see(marker="document-faq.md", retries=100)
    found = await memory.search_knowledge("help", "Do gift cards expire?", top_k=1)
    assert found[0].source == "faq.md"
    user.find(marker="remove-faq.md").click()
    await user.should_not_see(marker="document-faq.md", retries=100)
    assert [d.name for d in await memory.documents("help")] == ["warranty.pdf"]


async def test_a_bad_file_is_refused_with_a_sentence(user: User, memory: ChromaMemory) -> None:
    await user.open("/flows/help/knowledge")
    await upload(user, "broken.pdf", b"%PDF-1.4 nothing else")
    await user.should_see("“broken.pdf” could not be read as a PDF: the file is damaged or is not a PDF.", retries=100)
    await upload(user, "slides.pptx", b"PK\x03\x04")
    await user.should_see(
        marker="problem", content="“slides.pptx” is a kind of file the knowledge base cannot read.", retries=100
    )
    assert await memory.documents("help") == []


async def test_files_the_browser_refuses_are_named_with_the_reason(user: User) -> None:
    await user.open("/flows/help/knowledge")
    refused = [{"name": "film.pdf", "rule": "max-file-size"}, {"name": "deck.pptx", "rule": "accept"}]
    user.find(marker="upload").trigger("rejected", refused)  # what the browser reports (tests/browser sends real files)
    await user.should_see(
        marker="problem",
        content="“film.pdf” is larger than 20 MB. “deck.pptx” is a kind of file the knowledge base cannot read.",
    )


async def test_an_unknown_flow_is_named(user: User) -> None:
    await user.open("/flows/nope/knowledge")
    await user.should_see("nope")

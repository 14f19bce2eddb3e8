"""The knowledge-base routes of the HTTP API: upload, list and remove a bot's documents.

    curl -F file=@returns.pdf http://localhost:8000/api/bots/support/knowledge

A bot is the flow its conversations start on. An upload is all or nothing: a file that cannot be
read is answered with one sentence saying why, and nothing of it is kept.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Response, UploadFile
from pydantic import BaseModel

from flows.store import FlowNotFound
from nodes.ai.memory import KnowledgeDocument, MemoryService
from runtime.ai.documents import MAX_SIZE, UnreadableDocument
from runtime.api_models import Problem
from runtime.engine import Runtime

UPLOAD_PATH = re.compile(r"^/api/bots/[^/]+/knowledge$")
UPLOAD_LIMIT = MAX_SIZE + 64 * 1024  # the document and its multipart wrapping
UPLOADS_AT_ONCE = 1  # per process: reading and embedding one document keeps a core busy for seconds


def upload_limit(path: str) -> int | None:
    """The body limit for the upload route (larger than the API's usual one), None elsewhere."""
    return UPLOAD_LIMIT if UPLOAD_PATH.match(path) else None


class DocumentOut(BaseModel):
    """A document in a bot's knowledge base."""

    name: str
    kind: str
    characters: int
    chunks: int
    uploaded_at: str


def _out(doc: KnowledgeDocument) -> DocumentOut:
    at = datetime.fromtimestamp(doc.uploaded_at, UTC).isoformat()
    return DocumentOut(name=doc.name, kind=doc.kind, characters=doc.characters, chunks=doc.chunks, uploaded_at=at)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error answers for the OpenAPI schema: always {"detail": "<one sentence>"}."""
    return {status: {"model": Problem} for status in statuses}


def knowledge_routes(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    def service(flow_id: str) -> MemoryService:
        if not runtime.flows.exists(flow_id):
            raise FlowNotFound(f"There is no flow {flow_id!r}.")
        memory = runtime.services.memory
        if memory is None:
            raise HTTPException(503, "The knowledge base is not set up on this server.")
        return memory

    busy = asyncio.Semaphore(UPLOADS_AT_ONCE)

    @router.post("/api/bots/{flow_id}/knowledge", status_code=201, responses=_errors(404, 413, 422, 429, 503))
    async def upload(flow_id: str, file: UploadFile) -> DocumentOut:
        """Add a document (text, Markdown, PDF or HTML) to a bot's knowledge base, replacing one of the same name."""
        memory = service(flow_id)
        if busy.locked():  # reading and embedding a document takes a core for seconds: one at a time
            raise HTTPException(429, "Another document is being added; try again in a moment.")
        async with busy:
            data = await file.read()
            try:
                doc = await memory.add_document(flow_id, file.filename or "", data, mime=file.content_type or "")
            except UnreadableDocument as exc:
                raise HTTPException(422, str(exc)) from None
        return _out(doc)

    @router.get("/api/bots/{flow_id}/knowledge", responses=_errors(404, 422, 503))
    async def documents(flow_id: str) -> list[DocumentOut]:
        """The documents in a bot's knowledge base."""
        return [_out(d) for d in await service(flow_id).documents(flow_id)]

    @router.delete("/api/bots/{flow_id}/knowledge/{name}", status_code=204, responses=_errors(404, 422, 503))
    async def remove(flow_id: str, name: str) -> Response:
        """Take a document out of a bot's knowledge base."""
        if not await service(flow_id).remove_document(flow_id, name):
            raise HTTPException(404, f"The knowledge base of {flow_id!r} has no document {name!r}.")
        return Response(status_code=204)

    return router

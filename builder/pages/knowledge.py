"""A bot's knowledge base: upload documents (text, Markdown, PDF, web pages), see them, remove them.

The knowledge-base step searches what is uploaded here. The same can be done without the builder
through the HTTP API (POST /api/bots/{flow_id}/knowledge).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from fastapi.responses import Response
from nicegui import events, ui

from builder.access import Visitor, account_menu, enter
from builder.context import Builder
from builder.widgets import name_upload
from flows.store import FlowNotFound
from nodes.ai.memory import MemoryService
from runtime.ai.documents import ACCEPTED, MAX_SIZE, UnreadableDocument

SUFFIXES = ".txt,.text,.md,.markdown,.pdf,.html,.htm"


def register(builder: Builder) -> None:
    @ui.page("/flows/{flow_id}/knowledge")
    async def knowledge(flow_id: str, request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        with ui.row().classes("w-full items-center"):
            ui.link("← Flows", "/")
            ui.space()
            account_menu(who)
        try:
            flow = builder.flows.draft(flow_id)
        except FlowNotFound as exc:
            ui.label(str(exc))
            return None
        ui.label(f"{flow.name}: knowledge base").classes("text-2xl font-medium")
        memory = builder.runtime.services.memory
        if memory is None:
            ui.label("The knowledge base is not set up on this server.").mark("unavailable")
            return None
        page = KnowledgePage(memory, flow_id, who)
        await page.refresh()
        return None


class KnowledgePage:
    """One browser tab's view of a bot's documents."""

    def __init__(self, memory: MemoryService, bot: str, who: Visitor) -> None:
        self.memory, self.bot, self.who = memory, bot, who
        if who.can("flows.edit"):
            self._upload_box()
        self.problem = ui.label().classes("text-negative").mark("problem")
        self.list = ui.column().classes("w-full max-w-3xl gap-1").mark("documents")

    def _upload_box(self) -> None:
        ui.label(
            f"Upload {ACCEPTED}, up to {MAX_SIZE // 1_000_000} MB each. The knowledge-base step finds the passages "
            "that answer a question; a file with the same name replaces the earlier one."
        ).classes("text-sm text-gray-600 max-w-3xl")
        box = (
            ui.upload(
                label="Add documents",
                multiple=True,
                auto_upload=True,
                max_file_size=MAX_SIZE,
                on_upload=self._upload,
                on_rejected=lambda: ui.notify(f"That file is larger than {MAX_SIZE // 1_000_000} MB.", type="negative"),
            )
            .props(f'accept="{SUFFIXES}"')
            .mark("upload")
        )
        name_upload(box, "Add documents")

    async def refresh(self) -> None:
        documents = await self.memory.documents(self.bot)
        self.list.clear()
        with self.list:
            if not documents:
                ui.label("No documents yet.").mark("empty")
            for doc in documents:
                with ui.row().classes("w-full items-center gap-3 border-b py-1").mark(f"document-{doc.name}"):
                    ui.label(doc.name).classes("font-medium grow")
                    ui.label(f"{doc.kind}, {doc.characters:,} characters, {doc.chunks} passages").classes("text-sm")
                    ui.label(datetime.fromtimestamp(doc.uploaded_at).strftime("%Y-%m-%d %H:%M")).classes("text-sm")
                    if self.who.can("flows.edit"):
                        ui.button(icon="delete", on_click=lambda _, n=doc.name: self._remove(n)).props(
                            "flat dense"
                        ).tooltip("Remove").mark(f"remove-{doc.name}")

    async def _upload(self, event: events.UploadEventArguments) -> None:
        if not self.who.may("flows.edit"):
            return
        self.problem.text = ""
        try:
            doc = await self.memory.add_document(
                self.bot, event.file.name, await event.file.read(), mime=event.file.content_type
            )
        except UnreadableDocument as exc:
            self.problem.text = str(exc)
            ui.notify(str(exc), type="negative")
            return
        ui.notify(f"Added “{doc.name}” ({doc.chunks} passages).", type="positive")
        await self.refresh()

    async def _remove(self, name: str) -> None:
        if not self.who.may("flows.edit"):
            return
        await self.memory.remove_document(self.bot, name)
        ui.notify(f"Removed “{name}”.")
        await self.refresh()

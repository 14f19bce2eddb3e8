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
from builder.i18n import _, n_
from builder.widgets import FileDrop
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
            ui.link(_("← Flows"), "/")
            ui.space()
            account_menu(who)
        try:
            flow = builder.flows.draft(flow_id)
        except FlowNotFound as exc:
            ui.label(str(exc))
            return None
        ui.label(_("{flow}: knowledge base", flow=flow.name)).classes("text-2xl font-medium")
        memory = builder.runtime.services.memory
        if memory is None:
            ui.label(_("The knowledge base is not set up on this server.")).mark("unavailable")
            return None
        page = KnowledgePage(memory, flow_id, who)
        await page.refresh()
        return None


class KnowledgePage:
    """One browser tab's view of a bot's documents."""

    def __init__(self, memory: MemoryService, bot: str, who: Visitor) -> None:
        self.memory, self.bot, self.who = memory, bot, who
        self.busy: list[str] = []  # the files being read now
        if who.can("flows.edit"):
            self._upload_box()
        self.problem = ui.label().classes("text-negative").mark("problem")
        self.list = ui.column().classes("w-full max-w-3xl gap-1").mark("documents")

    def _upload_box(self) -> None:
        ui.label(
            _(
                "Upload {kinds}, up to {size} MB each. The knowledge-base step finds the passages "
                "that answer a question; a file with the same name replaces the earlier one.",
                kinds=ACCEPTED,
                size=MAX_SIZE // 1_000_000,
            )
        ).classes("text-sm text-gray-600 max-w-3xl")
        drop = FileDrop(
            _("Add documents"),
            _("or drop files here"),
            accept=SUFFIXES,
            max_file_size=MAX_SIZE,
            on_upload=self._upload,
            on_rejected=self._rejected,
        )
        drop.upload.mark("upload")
        drop.button.mark("add-documents")
        with ui.row().classes("items-center gap-2 text-sm text-gray-700").mark("reading") as self.reading:
            ui.spinner(size="sm")
            self.reading_words = ui.label()
        self.reading.set_visibility(False)

    def _rejected(self, files: list[tuple[str, str]]) -> None:
        """Files the browser refused before sending them: each named, with the reason in words."""

        def why(name: str, rule: str) -> str:
            if rule == "max-file-size":
                return _("“{name}” is larger than {size} MB.", name=name, size=MAX_SIZE // 1_000_000)
            if rule == "accept":
                return _("“{name}” is a kind of file the knowledge base cannot read.", name=name)
            return _("“{name}” could not be added.", name=name)

        said = " ".join(why(name, rule) for name, rule in files)
        self.problem.text = said
        ui.notify(said, type="negative", multi_line=True)

    def _show_busy(self) -> None:
        self.reading_words.text = _("Reading {names}…", names=", ".join(f"“{n}”" for n in self.busy))
        self.reading.set_visibility(bool(self.busy))

    async def refresh(self) -> None:
        documents = await self.memory.documents(self.bot)
        self.list.clear()
        with self.list:
            if not documents:
                ui.label(_("No documents yet.")).mark("empty")
            for doc in documents:
                with ui.row().classes("w-full items-center gap-3 border-b py-1").mark(f"document-{doc.name}"):
                    ui.label(doc.name).classes("font-medium grow")
                    size = n_(
                        "{kind}, {characters} characters, {count} passage",
                        "{kind}, {characters} characters, {count} passages",
                        doc.chunks,
                        kind=doc.kind,
                        characters=f"{doc.characters:,}",
                    )
                    ui.label(size).classes("text-sm")
                    ui.label(datetime.fromtimestamp(doc.uploaded_at).strftime("%Y-%m-%d %H:%M")).classes("text-sm")
                    if self.who.can("flows.edit"):
                        remove = ui.button(icon="delete", on_click=lambda _, n=doc.name: self._remove(n))
                        remove.props("flat dense round color=grey-8").tooltip(_("Remove")).mark(f"remove-{doc.name}")
                        remove.props["aria-label"] = _("Remove “{name}”", name=doc.name)

    async def _upload(self, event: events.UploadEventArguments) -> None:
        if not self.who.may("flows.edit"):
            return
        self.problem.text = ""
        self.busy.append(event.file.name)
        self._show_busy()
        try:
            doc = await self.memory.add_document(
                self.bot, event.file.name, await event.file.read(), mime=event.file.content_type
            )
        except UnreadableDocument as exc:
            self.problem.text = str(exc)
            ui.notify(str(exc), type="negative")
            return
        finally:
            self.busy.remove(event.file.name)
            self._show_busy()
        added = n_("Added “{name}” ({count} passage).", "Added “{name}” ({count} passages).", doc.chunks, name=doc.name)
        ui.notify(added, type="positive")
        await self.refresh()

    async def _remove(self, name: str) -> None:
        if not self.who.may("flows.edit"):
            return
        await self.memory.remove_document(self.bot, name)
        ui.notify(_("Removed “{name}”.", name=name))
        await self.refresh()

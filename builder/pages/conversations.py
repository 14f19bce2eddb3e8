"""Conversations: what end users and the bots said, for the people who read and analyse them.

The conversations of the flows in the visitor's workspace, last active first, filtered by flow and
status; a transcript beside the list; an export (JSON, with transcripts) for those who may export,
recorded in the audit log by its size.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from fastapi import Request
from fastapi.responses import Response
from nicegui import events, ui

from builder.access import Visitor, enter
from builder.context import Builder
from builder.i18n import N_, _
from builder.pages.account import header
from runtime.channels.kinds import KINDS
from runtime.store import ConversationSummary
from runtime.workspaces import DEFAULT

SHOWN = 100
EXPORTED = 5_000
ROW = "w-full no-wrap items-center gap-3 px-2 py-1.5"
# the words here are translated where they are shown
COLUMNS = ((N_("Last active"), "w-40 shrink-0"), (N_("Flow"), "w-40 shrink-0"), (N_("Channel"), "w-28 shrink-0"),
           (N_("Person"), "grow min-w-0"), (N_("Status"), "w-40 shrink-0"))  # fmt: skip
STATUS_WORDS = {
    "new": N_("starting"),
    "waiting": N_("waiting for an answer"),
    "sleeping": N_("waiting on a timer"),
    "ended": N_("ended"),
    "failed": N_("stopped by an error"),
}
CHANNEL_WORDS = {"api": N_("HTTP API"), "test": N_("test chat")}


def register(builder: Builder) -> None:
    @ui.page("/conversations")
    def conversations(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        ConversationsPage(builder, who)
        return None


class ConversationsPage:
    def __init__(self, builder: Builder, who: Visitor) -> None:
        self.builder, self.who = builder, who
        header(_("Conversations"), who)
        place = who.workspace()
        places = builder.access.workspaces.flows_in()
        self.flows = {f.id: f.name for f in builder.flows.list() if place and places.get(f.id, DEFAULT) == place}
        with ui.row().classes("items-end gap-2"):
            choices = {"": _("every flow"), **self.flows}
            self.flow = ui.select(choices, value="", label=_("Flow"), on_change=self.refresh).classes("w-56")
            self.flow.mark("flow")
            statuses = {"": _("any")} | {s: _(STATUS_WORDS[s]) for s in ("waiting", "sleeping", "ended")}
            self.status = ui.select(statuses, value="", label=_("Status"), on_change=self.refresh).classes("w-56")
            self.status.mark("status")
            if who.can("conversations.export"):
                ui.button(_("Export (JSON)"), icon="download", on_click=self._export).props("outline").mark("export")
        with ui.row().classes("w-full no-wrap gap-4 items-start"):
            self.list = ui.column().classes("w-3/5 gap-0").mark("conversations")
            with ui.column().classes("w-2/5 gap-2 border-l pl-4"):
                ui.label(_("Transcript")).classes("text-sm font-semibold text-gray-600")
                self.transcript = ui.column().classes("w-full gap-2").mark("transcript")
                with self.transcript:
                    ui.label(_("Choose a conversation to read it.")).classes("text-sm text-gray-500")
        self.refresh()

    def _found(self, limit: int) -> list[ConversationSummary]:
        flows = [self.flow.value] if self.flow.value in self.flows else list(self.flows)
        return self.builder.runtime.store.recent(flows, limit=limit, status=str(self.status.value or ""))

    def refresh(self, event: events.ValueChangeEventArguments | None = None) -> None:
        if not self.who.may("conversations.read"):
            return
        found = self._found(SHOWN)
        self.list.clear()
        with self.list:
            if not found:
                ui.label(_("No conversations yet: they appear here once people talk to a published flow.")).classes(
                    "text-gray-500 py-6"
                ).mark("none")
                return
            with ui.row().classes(f"{ROW} text-xs font-semibold uppercase tracking-wide text-gray-500 border-b"):
                for title, width in COLUMNS:
                    ui.label(_(title)).classes(width)
            for c in found:
                when = datetime.fromtimestamp(c.updated_at).strftime("%d %b %Y, %H:%M").lstrip("0")
                kind = KINDS.get(c.channel)
                cells = (
                    when,
                    self.flows.get(c.flow_id, c.flow_id),
                    _(kind.title) if kind else _(CHANNEL_WORDS[c.channel]) if c.channel in CHANNEL_WORDS else c.channel,
                    c.user_id or "—",
                    _(STATUS_WORDS[c.status]) if c.status in STATUS_WORDS else c.status,
                )
                with (
                    ui.row()
                    .classes(f"{ROW} border-b cursor-pointer hover:bg-gray-50 text-sm")
                    .on("click", lambda _, i=c.id: self._show(i))
                    .props('tabindex="0" role="button"')
                    .mark(f"conversation-{c.id}") as row
                ):
                    row.props["aria-label"] = _("Read the conversation of {when}", when=cells[0])
                    for text, (_title, width) in zip(cells, COLUMNS, strict=True):
                        ui.label(text).classes(f"{width} truncate")
                row.on("keydown.enter", lambda _, i=c.id: self._show(i))

    def _show(self, conversation_id: str) -> None:
        if not self.who.may("conversations.read"):
            return
        self.transcript.clear()
        with self.transcript:
            for line in self.builder.runtime.store.messages(conversation_id, limit=500):
                said = line.payload.get("text") or line.payload.get("choice") or ""
                person = line.direction == "in"
                when = datetime.fromtimestamp(line.created_at).strftime("%H:%M:%S")
                side = "self-end items-end" if person else "self-start items-start"
                with ui.column().classes(f"{side} gap-0 max-w-[85%]").mark("person" if person else "bot"):
                    bubble = "bg-blue-100 text-blue-950" if person else "bg-gray-100 text-gray-900"
                    said = said or _("(no text)")
                    ui.label(said).classes(f"{bubble} rounded-2xl px-3 py-1 text-sm whitespace-pre-wrap")
                    who = _("Person") if person else _("Bot")
                    ui.label(f"{who} · {when}").classes("text-[11px] text-gray-500 px-2")

    def _export(self) -> None:
        if not self.who.may("conversations.export"):
            return
        found = self._found(EXPORTED)
        store = self.builder.runtime.store
        data = [
            {
                "id": c.id,
                "flow": c.flow_id,
                "version": c.version,
                "channel": c.channel,
                "user_id": c.user_id,
                "status": c.status,
                "started_at": c.created_at,
                "last_active_at": c.updated_at,
                "transcript": [m.to_json() for m in store.messages(c.id, limit=100_000)],
            }
            for c in found
        ]
        self.who.record("conversations.export", self.who.workspace() or "", {"conversations": len(data)})
        body = json.dumps(data, ensure_ascii=False, indent=2).encode()
        ui.download.content(body, time.strftime("conversations-%Y%m%d-%H%M%S.json"), "application/json")

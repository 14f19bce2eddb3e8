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
from builder.pages.account import header
from runtime.store import ConversationSummary
from runtime.workspaces import DEFAULT

SHOWN = 100
EXPORTED = 5_000


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
        header("Conversations", who)
        place = who.workspace()
        places = builder.access.workspaces.flows_in()
        self.flows = {f.id: f.name for f in builder.flows.list() if place and places.get(f.id, DEFAULT) == place}
        with ui.row().classes("items-end gap-2"):
            choices = {"": "every flow", **self.flows}
            self.flow = ui.select(choices, value="", label="Flow", on_change=self.refresh).classes("w-56").mark("flow")
            statuses = {
                "": "any",
                "waiting": "waiting for an answer",
                "sleeping": "waiting on a timer",
                "ended": "ended",
            }
            self.status = ui.select(statuses, value="", label="Status", on_change=self.refresh).classes("w-56")
            self.status.mark("status")
            if who.can("conversations.export"):
                ui.button("Export (JSON)", icon="download", on_click=self._export).props("outline").mark("export")
        with ui.row().classes("w-full no-wrap gap-4"):
            self.list = ui.column().classes("w-1/2 gap-1").mark("conversations")
            self.transcript = ui.column().classes("w-1/2 gap-1 border-l pl-4").mark("transcript")
        self.refresh()

    def _found(self, limit: int) -> list[ConversationSummary]:
        flows = [self.flow.value] if self.flow.value in self.flows else list(self.flows)
        return self.builder.runtime.store.recent(flows, limit=limit, status=str(self.status.value or ""))

    def refresh(self, _: events.ValueChangeEventArguments | None = None) -> None:
        if not self.who.may("conversations.read"):
            return
        found = self._found(SHOWN)
        self.list.clear()
        with self.list:
            if not found:
                ui.label("No conversations yet.").mark("none")
            for c in found:
                when = datetime.fromtimestamp(c.updated_at).strftime("%Y-%m-%d %H:%M")
                line = (
                    f"{when} · {self.flows.get(c.flow_id, c.flow_id)} · {c.channel} · {c.user_id or '—'} · {c.status}"
                )
                ui.label(line).classes("cursor-pointer hover:underline text-sm").on(
                    "click", lambda _, i=c.id: self._show(i)
                ).mark(f"conversation-{c.id}")

    def _show(self, conversation_id: str) -> None:
        if not self.who.may("conversations.read"):
            return
        self.transcript.clear()
        with self.transcript:
            for line in self.builder.runtime.store.messages(conversation_id, limit=500):
                said = line.payload.get("text") or line.payload.get("choice") or ""
                mine = line.direction == "in"
                ui.label(f"{'👤' if mine else '🤖'} {said}").classes("text-sm" + (" font-medium" if mine else ""))

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

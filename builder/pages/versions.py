"""Publishing and version history: publish the draft with a note, see what changed, restore or export a version."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import Visitor, account_menu, enter
from builder.context import Builder
from builder.pages.flow_list import download_flow
from flows.diff import diff
from flows.problems import FlowInvalid
from flows.store import FlowNotFound
from runtime.channels.kinds import KINDS


def register(builder: Builder) -> None:
    @ui.page("/flows/{flow_id}/versions")
    def versions(flow_id: str, request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        try:
            builder.flows.draft(flow_id)
        except FlowNotFound as exc:
            ui.label(str(exc))
            ui.link("Back to the flows", "/")
            return None
        History(builder, flow_id, who)
        return None


class History:
    """One browser tab's view of a flow's versions."""

    def __init__(self, builder: Builder, flow_id: str, who: Visitor) -> None:
        self.builder, self.flow_id, self.who = builder, flow_id, who
        with ui.row().classes("w-full items-center gap-4"):
            ui.link("← Flows", "/")
            ui.link("← Back to the editor", f"/flows/{flow_id}").mark("editor")
            self.title = ui.label().classes("text-2xl font-medium")
            ui.space()
            account_menu(who)
        if who.can("flows.publish"):
            with ui.row().classes("items-end gap-2"):
                self.note = ui.input("Note for this version (optional)").classes("w-96").mark("note")
                ui.button("Publish", icon="publish", on_click=self._publish).mark("publish")
        self.problems = ui.column().classes("gap-0").mark("problems")
        self.live = ui.column().classes("gap-1").mark("live")
        self.list = ui.column().classes("w-full gap-1")
        self.refresh()

    def refresh(self) -> None:
        draft = self.builder.flows.draft(self.flow_id)
        self.title.text = f"{draft.name}: versions"
        published = self.builder.flows.versions(self.flow_id)
        self.list.clear()
        with self.list:
            if published:
                latest = published[0]
                ui.label(f"Draft against version {latest.version}: {diff(latest.flow, draft).sentence()}").mark(
                    "draft-changes"
                )
            else:
                ui.label("Not published yet.")
            for index, v in enumerate(published):
                older = published[index + 1].flow if index + 1 < len(published) else None
                change = diff(older, v.flow).sentence() if older else "First version."
                with ui.row().classes("w-full items-center gap-3 border-b py-1").mark(f"version-{v.version}"):
                    ui.label(f"Version {v.version}").classes("font-medium w-24")
                    ui.label(v.published_at.strftime("%Y-%m-%d %H:%M")).classes("w-36 text-gray-500")
                    ui.label(v.note or "—").classes("w-48")
                    ui.label(change).classes("grow text-sm")
                    if self.who.can("flows.edit"):
                        ui.button("Restore as draft", on_click=lambda _, n=v.version: self._restore(n)).props(
                            "flat dense"
                        ).mark(f"restore-{v.version}")
                    ui.button("Export", icon="download", on_click=lambda _, n=v.version: self._export(n)).props(
                        "flat dense"
                    ).mark(f"export-{v.version}")

    def _publish(self) -> None:
        if not self.who.may("flows.publish"):
            return
        self.problems.clear()
        self.live.clear()
        try:
            version = self.builder.flows.publish(self.flow_id, self.builder.registry, note=self.note.value or "")
        except FlowInvalid as exc:
            with self.problems:
                ui.label("Not published: fix these first (each opens its step in the editor).").classes("text-negative")
                for problem in exc.problems:
                    if problem.severity != "error":
                        continue
                    if problem.node_id:
                        ui.link(f"• {problem.message}", f"/flows/{self.flow_id}?focus={problem.node_id}").classes(
                            "text-negative text-sm"
                        ).mark(f"fix-{problem.node_id}")
                    else:
                        ui.label(f"• {problem.message}").classes("text-negative text-sm")
            return
        self.who.record("flow.publish", self.flow_id, {"version": version})
        self.note.value = ""
        ui.notify(f"Published version {version}.", type="positive")
        self._where_it_answers(version)
        self.refresh()

    def _where_it_answers(self, version: int) -> None:
        """After publishing: where version `version` now answers, and how to reach more people."""
        channels = self.builder.channels
        deployed = [d for d in channels.store.deployments() if d.flow_id == self.flow_id] if channels else []
        with self.live, ui.card().classes("w-full max-w-3xl bg-green-50 shadow-none border"):
            ui.label(f"Version {version} is live.").classes("text-lg font-medium text-green-900")
            ui.label(
                f"Programs reach it over the HTTP API: POST /api/flows/{self.flow_id}/conversations "
                "(with an API token from the Account page)."
            ).classes("text-sm")
            for d in deployed:
                kind = KINDS.get(d.channel)
                title = kind.title if kind else d.channel
                note = "" if d.version == version else f" (still on version {d.version}: deploy again to move it)"
                ui.label(f"{title}: “{d.account}”{note}").classes("text-sm").mark(f"live-{d.channel}")
            if not deployed:
                with ui.row().classes("items-center gap-1 text-sm"):
                    ui.label("It is on no channel yet.")
                    ui.link("Put it on Telegram, WhatsApp, Slack or your website", "/deployments").mark("go-deploy")

    def _export(self, version: int) -> None:
        """Download a published version as `<flow id>-version-<n>.json`."""
        published = self.builder.flows.version(self.flow_id, version)
        download_flow(published.flow, f"{self.flow_id}-version-{version}.json", self.builder.registry)

    async def _restore(self, version: int) -> None:
        if not self.who.may("flows.edit"):
            return
        with ui.dialog() as dialog, ui.card():
            ui.label(f"Replace the current draft with version {version}? Unpublished changes in the draft are lost.")
            with ui.row():
                ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
                ui.button("Restore", on_click=lambda: dialog.submit(True)).mark("confirm-restore")
        confirmed = await dialog
        dialog.delete()
        if confirmed and self.who.may("flows.edit"):
            self.builder.flows.save_draft(self.builder.flows.version(self.flow_id, version).flow, by=self.who.email)
            ui.notify(f"The draft is now version {version}.", type="positive")
            self.refresh()

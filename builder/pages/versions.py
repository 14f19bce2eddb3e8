"""Publishing and version history: publish the draft with a note, see what changed, restore or export a version."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from builder.access import Visitor, account_menu, enter
from builder.context import Builder
from builder.i18n import _
from builder.pages.flow_list import download_flow
from builder.widgets import named_dialog
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
            ui.link(_("Back to the flows"), "/")
            return None
        History(builder, flow_id, who)
        return None


def publish_draft(builder: Builder, who: Visitor, flow_id: str, note: str = "") -> int:
    """Publish the flow's draft as its next version, in the audit log under `who`; its number.
    FlowInvalid (with the problems) when the draft has errors: nothing is published."""
    version = builder.flows.publish(flow_id, builder.registry, note=note)
    who.record("flow.publish", flow_id, {"version": version})
    return version


class History:
    """One browser tab's view of a flow's versions."""

    def __init__(self, builder: Builder, flow_id: str, who: Visitor) -> None:
        self.builder, self.flow_id, self.who = builder, flow_id, who
        with ui.row().classes("w-full items-center gap-4"):
            ui.link(_("← Flows"), "/")
            ui.link(_("← Back to the editor"), f"/flows/{flow_id}").mark("editor")
            self.title = ui.label().classes("text-2xl font-medium")
            ui.space()
            account_menu(who)
        if who.can("flows.publish"):
            with ui.row().classes("items-end gap-2"):
                self.note = ui.input(_("Note for this version (optional)")).classes("w-96").mark("note")
                ui.button(_("Publish"), icon="publish", on_click=self._publish).mark("publish")
        self.problems = ui.column().classes("gap-0").mark("problems")
        self.live = ui.column().classes("gap-1").mark("live")
        self.list = ui.column().classes("w-full gap-1")
        self.refresh()

    def refresh(self) -> None:
        draft = self.builder.flows.draft(self.flow_id)
        self.title.text = _("{flow}: versions", flow=draft.name)
        published = self.builder.flows.versions(self.flow_id)
        self.list.clear()
        with self.list:
            if published:
                latest = published[0]
                changes = diff(latest.flow, draft).sentence()
                ui.label(_("Draft against version {version}: {changes}", version=latest.version, changes=changes)).mark(
                    "draft-changes"
                )
            else:
                ui.label(_("Not published yet."))
            for index, v in enumerate(published):
                older = published[index + 1].flow if index + 1 < len(published) else None
                change = diff(older, v.flow).sentence() if older else _("First version.")
                with ui.row().classes("w-full items-center gap-3 border-b py-1").mark(f"version-{v.version}"):
                    ui.label(_("Version {version}", version=v.version)).classes("font-medium w-24")
                    ui.label(v.published_at.strftime("%Y-%m-%d %H:%M")).classes("w-36 text-gray-500")
                    ui.label(v.note or "—").classes("w-48")
                    ui.label(change).classes("grow text-sm")
                    if self.who.can("flows.edit"):
                        ui.button(_("Restore as draft"), on_click=lambda _, n=v.version: self._restore(n)).props(
                            "flat dense"
                        ).mark(f"restore-{v.version}")
                    ui.button(_("Export"), icon="download", on_click=lambda _, n=v.version: self._export(n)).props(
                        "flat dense"
                    ).mark(f"export-{v.version}")

    def _publish(self) -> None:
        if not self.who.may("flows.publish"):
            return
        self.problems.clear()
        self.live.clear()
        try:
            version = publish_draft(self.builder, self.who, self.flow_id, self.note.value or "")
        except FlowInvalid as exc:
            with self.problems:
                said = _("Not published: fix these first (each opens its step in the editor).")
                ui.label(said).classes("text-negative")
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
        self.note.value = ""
        ui.notify(_("Published version {version}.", version=version), type="positive")
        self._where_it_answers(version)
        self.refresh()

    def _where_it_answers(self, version: int) -> None:
        """After publishing: where version `version` now answers, and how to reach more people."""
        channels = self.builder.channels
        deployed = [d for d in channels.store.deployments() if d.flow_id == self.flow_id] if channels else []
        with self.live, ui.card().classes("w-full max-w-3xl bg-green-50 shadow-none border"):
            ui.label(_("Version {version} is live.", version=version)).classes("text-lg font-medium text-green-900")
            ui.label(
                _(
                    "Programs reach it over the HTTP API: POST {address} (with an API token from the Account page).",
                    address=f"/api/flows/{self.flow_id}/conversations",
                )
            ).classes("text-sm")
            for d in deployed:
                kind = KINDS.get(d.channel)
                title = _(kind.title) if kind else d.channel
                if d.version == version:
                    said = f"{title}: “{d.account}”"
                else:
                    said = _(
                        "{channel}: “{account}” (still on version {version}: deploy again to move it)",
                        channel=title,
                        account=d.account,
                        version=d.version,
                    )
                ui.label(said).classes("text-sm").mark(f"live-{d.channel}")
            if not deployed:
                with ui.row().classes("items-center gap-1 text-sm"):
                    ui.label(_("It is on no channel yet."))
                    ui.link(_("Put it on Telegram, WhatsApp, Slack or your website"), "/deployments").mark("go-deploy")

    def _export(self, version: int) -> None:
        """Download a published version as `<flow id>-version-<n>.json`."""
        published = self.builder.flows.version(self.flow_id, version)
        download_flow(published.flow, f"{self.flow_id}-version-{version}.json", self.builder.registry)

    async def _restore(self, version: int) -> None:
        if not self.who.may("flows.edit"):
            return
        with named_dialog(_("Restore version {version}", version=version)) as dialog, ui.card():
            ui.label(
                _(
                    "Replace the current draft with version {version}? Unpublished changes in the draft are lost.",
                    version=version,
                )
            )
            with ui.row():
                ui.button(_("Cancel"), on_click=lambda: dialog.submit(False)).props("flat")
                ui.button(_("Restore"), on_click=lambda: dialog.submit(True)).mark("confirm-restore")
        confirmed = await dialog
        dialog.delete()
        if confirmed and self.who.may("flows.edit"):
            self.builder.flows.save_draft(self.builder.flows.version(self.flow_id, version).flow, by=self.who.email)
            ui.notify(_("The draft is now version {version}.", version=version), type="positive")
            self.refresh()

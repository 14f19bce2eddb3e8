"""The flow list: find, create (blank or from a template), import, export, duplicate, rename and delete flows."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from nicegui import events, ui

from builder.access import Visitor, account_menu, enter
from builder.context import Builder
from flows.document import DocumentError, dump_flow, parse_flow
from flows.models import Flow, Node
from flows.problems import has_errors
from flows.validate import validate
from nodes.registry import Registry
from nodes.secrets import without_secrets
from runtime.workspaces import DEFAULT

BLANK_START = Node.model_validate({"id": "start", "type": "flow.start", "ui": {"x": 0, "y": 0}})


def download_flow(flow: Flow, filename: str, registry: Registry) -> None:
    """Send the browser a flow file: the core's canonical JSON, the same bytes `chatloom export` writes.

    Secret settings (a plugin's API key field) are emptied: a file travels. `{{ secrets.NAME }}`
    references are only names, filled in by the deployment when the flow runs, and are kept.
    """
    ui.download.content(dump_flow(without_secrets(flow, registry)).encode("utf-8"), filename, "application/json")


def register(builder: Builder) -> None:
    @ui.page("/")
    def flow_list(request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        FlowList(builder, who)
        return None


class FlowList:
    """One browser tab's flow list."""

    def __init__(self, builder: Builder, who: Visitor) -> None:
        self.builder, self.who = builder, who
        self.query = ""
        self.place = who.workspace()
        with ui.row().classes("w-full items-center"):
            ui.label("Flows").classes("text-2xl font-medium")
            spaces = who.workspaces()
            if len(spaces) > 1:
                ui.select(
                    {w.id: w.name for w in spaces}, value=self.place, label="Workspace", on_change=self._switch
                ).classes("w-56").mark("workspace")
            ui.space()
            if who.can("flows.edit"):
                ui.link("Templates", "/templates").mark("templates")
            if who.can("channels.deploy"):
                ui.link("Channels", "/deployments").mark("deployments")
            if who.can("models.read"):
                ui.link("AI models", "/models").mark("models")
            if who.can("conversations.read"):
                ui.link("Conversations", "/conversations").mark("conversations")
            account_menu(who)
        with ui.row().classes("w-full items-center gap-2"):
            ui.input(placeholder="Search flows", on_change=self._search).props("clearable dense outlined").classes(
                "w-64"
            ).mark("search")
            if self.place is None:
                ui.label("You are not a member of any workspace yet: ask an admin to add you to one.").mark(
                    "no-workspace"
                )
            elif who.can("flows.edit"):
                ui.button("New flow", icon="add", on_click=self._new).mark("new")
                ui.button("From template", icon="auto_awesome", on_click=self._from_template).props("outline").mark(
                    "from-template"
                )
                ui.upload(label="Import a flow file", auto_upload=True, on_upload=self._import).props(
                    "accept=.json flat bordered"
                ).classes("w-64").mark("import")
        self.rows = ui.column().classes("w-full gap-1")
        self.refresh()

    def refresh(self) -> None:
        self.rows.clear()
        wanted = self.query.casefold()
        places = self.builder.access.workspaces.flows_in()
        flows = [
            f
            for f in self.builder.flows.list()
            if places.get(f.id, DEFAULT) == self.place and (wanted in f.name.casefold() or wanted in f.id)
        ]
        with self.rows:
            if not flows:
                ui.label("No flows yet: create one, or start from a template." if not wanted else "No flow matches.")
            for f in flows:
                with ui.row().classes("w-full items-center gap-3 border-b py-1").mark(f"flow-{f.id}"):
                    ui.link(f.name, f"/flows/{f.id}").classes("text-lg w-72")
                    ui.label(f.id).classes("text-gray-500 w-48")
                    ui.label(f"version {f.latest_version}" if f.latest_version else "not published").classes("w-32")
                    ui.button(
                        icon="menu_book", on_click=lambda _, i=f.id: ui.navigate.to(f"/flows/{i}/knowledge")
                    ).props("flat dense").tooltip("Knowledge base").mark(f"knowledge-{f.id}")
                    ui.button(icon="download", on_click=lambda _, i=f.id: self._export(i)).props("flat dense").tooltip(
                        "Export"
                    ).mark(f"export-{f.id}")
                    if not self.who.can("flows.edit"):
                        continue
                    ui.button(icon="content_copy", on_click=lambda _, i=f.id: self._duplicate(i)).props(
                        "flat dense"
                    ).tooltip("Duplicate").mark(f"duplicate-{f.id}")
                    ui.button(icon="edit", on_click=lambda _, i=f.id: self._rename(i)).props("flat dense").tooltip(
                        "Rename"
                    ).mark(f"rename-{f.id}")
                    if self.who.can(_deleting(f.latest_version)):
                        ui.button(icon="delete", on_click=lambda _, i=f.id: self._delete(i)).props(
                            "flat dense color=negative"
                        ).tooltip("Delete").mark(f"delete-{f.id}")

    def _search(self, e: events.ValueChangeEventArguments) -> None:
        self.query = (e.value or "").strip()
        self.refresh()

    def _switch(self, e: events.ValueChangeEventArguments) -> None:
        self.who.choose(str(e.value))
        self.place = self.who.workspace()
        self.refresh()

    def _save(self, flow: Flow, message: str) -> None:
        if not self.who.may("flows.edit") or self.place is None:
            return
        if not self.builder.flows.exists(flow.id):  # a new flow goes into the workspace being worked in
            self.builder.access.workspaces.place(flow.id, self.place)
        elif not self.who.sees_flow(flow.id):
            return
        self.builder.flows.save_draft(flow)
        ui.notify(message, type="positive")
        self.refresh()

    async def _ask_name(self, title: str, value: str = "") -> str | None:
        with ui.dialog() as dialog, ui.card():
            ui.label(title)
            name = ui.input("Name", value=value).mark("name")
            with ui.row():
                ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
                ui.button("OK", on_click=lambda: dialog.submit(name.value)).mark("ok")
        answer = await dialog
        dialog.delete()
        return (answer or "").strip() or None

    async def _new(self) -> None:
        if not self.who.may("flows.edit"):
            return
        name = await self._ask_name("A name for the new flow")
        if name:
            flow = Flow(id=self.builder.free_id(name), name=name, start="start", nodes=[BLANK_START])
            self._save(flow, f"Created “{name}”.")
            ui.navigate.to(f"/flows/{flow.id}")  # a new flow is made to be edited

    async def _from_template(self) -> None:
        templates = {t.id: t for t in self.builder.templates()}
        with ui.dialog() as dialog, ui.card():
            ui.label("Start from a template")
            for t in templates.values():
                with ui.row().classes("items-center"):
                    ui.button(t.name, on_click=lambda _, i=t.id: dialog.submit(i)).props("flat").mark(
                        f"template-{t.id}"
                    )
                    ui.label(t.description).classes("text-sm text-gray-500 w-96")
        chosen = await dialog
        dialog.delete()
        if chosen:
            template = templates[chosen]
            copy = template.model_copy(update={"id": self.builder.free_id(template.name)})
            self._save(copy, f"Created “{copy.name}” from the template.")

    async def _import(self, e: events.UploadEventArguments) -> None:
        if not self.who.may("flows.edit"):
            return
        raw = await e.file.read()
        try:
            flow = parse_flow(raw, source=e.file.name)
        except DocumentError as exc:
            ui.notify(str(exc), type="negative", multi_line=True)
            return
        problems = validate(flow, self.builder.registry)
        if self.builder.flows.exists(flow.id):
            flow = flow.model_copy(update={"id": self.builder.free_id(flow.name)})
        self._save(flow, f"Imported “{flow.name}”.")
        if has_errors(problems):
            ui.notify(f"“{flow.name}” has problems to fix before it can be published.", type="warning")

    def _export(self, flow_id: str) -> None:
        """Download the draft as `<flow id>.json`."""
        download_flow(self.builder.flows.draft(flow_id), f"{flow_id}.json", self.builder.registry)

    def _duplicate(self, flow_id: str) -> None:
        flow = self.builder.flows.draft(flow_id)
        name = f"{flow.name} (copy)"
        self._save(flow.model_copy(update={"id": self.builder.free_id(name), "name": name}), f"Duplicated as “{name}”.")

    async def _rename(self, flow_id: str) -> None:
        flow = self.builder.flows.draft(flow_id)
        name = await self._ask_name("Rename the flow", flow.name)
        if name and name != flow.name:
            self._save(flow.model_copy(update={"name": name}), f"Renamed to “{name}”.")

    async def _delete(self, flow_id: str) -> None:
        flow = self.builder.flows.draft(flow_id)
        published = next((f.latest_version for f in self.builder.flows.list() if f.id == flow_id), None)
        if not self.who.may(_deleting(published)):
            return
        with ui.dialog() as dialog, ui.card():
            ui.label(f"Delete “{flow.name}” and all its published versions? This cannot be undone.")
            with ui.row():
                ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
                ui.button("Delete", on_click=lambda: dialog.submit(True)).props("color=negative").mark("confirm")
        confirmed = await dialog
        dialog.delete()
        if confirmed and self.who.may(_deleting(published)):
            self.builder.flows.delete(flow_id)
            self.builder.access.workspaces.forget_flow(flow_id)
            self.who.record("flow.delete", flow_id, {"published_versions": published or 0})
            ui.notify(f"Deleted “{flow.name}”.")
            self.refresh()


def _deleting(published: int | None) -> str:
    """Deleting a draft is building; deleting published versions (which may be deployed) is publishing."""
    return "flows.publish" if published else "flows.edit"

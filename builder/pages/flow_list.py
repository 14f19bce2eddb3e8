"""The flow list: find, create (blank or from a template), import, export, duplicate, rename and delete flows."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from nicegui import events, ui

from builder.access import Visitor, account_menu, enter
from builder.context import Builder
from builder.i18n import _, n_
from builder.widgets import FileDrop, named_dialog
from flows.document import DocumentError, dump_flow, parse_flow
from flows.models import Flow, Node
from flows.problems import has_errors
from flows.store import FlowSummary
from flows.validate import validate
from nodes.registry import Registry
from nodes.secrets import without_secrets
from runtime.channels.kinds import KINDS
from runtime.workspaces import DEFAULT

BLANK_START = Node.model_validate({"id": "start", "type": "flow.start", "ui": {"x": 0, "y": 0}})
WEEK = 7 * 24 * 3600
MAX_IMPORT = 5 * 1024 * 1024  # bytes: a flow file larger than this is refused before it is read
# the list's columns (a row is a flex row; these keep the columns aligned)
ROW = "w-full items-center gap-4 px-3 py-2 no-wrap"
NAME_COLUMN, STATUS_COLUMN = "grow min-w-0", "w-60 shrink-0"
CHANNELS_COLUMN, COUNT_COLUMN = "w-48 shrink-0", "w-28 shrink-0 text-right"
ACTIONS_COLUMN = "w-44 shrink-0 justify-end"


def ago(at: datetime, now: datetime | None = None) -> str:
    """“just now”, “5 minutes ago”, “3 hours ago”, “yesterday”, “4 days ago”, or the date."""
    now = now or datetime.now(UTC)
    if at.tzinfo is None:  # SQLite gives back naive datetimes; they were written in UTC
        at = at.replace(tzinfo=UTC)
    seconds = max(0.0, (now - at).total_seconds())
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return n_("{count} minute ago", "{count} minutes ago", int(seconds // 60))
    if seconds < 86400:
        return n_("{count} hour ago", "{count} hours ago", int(seconds // 3600))
    days = int(seconds // 86400)
    if days == 1:
        return _("yesterday")
    return n_("{count} day ago", "{count} days ago", days) if days < 30 else at.strftime("%d %b %Y").lstrip("0")


def download_flow(flow: Flow, filename: str, registry: Registry) -> None:
    """Send the browser a flow file: the core's canonical JSON, the same bytes `chatloom export` writes.

    Secret settings (a plugin's API key field) are emptied: a file travels. `{{ secrets.NAME }}`
    references are only names, filled in by the deployment when the flow runs, and are kept.
    """
    ui.download.content(dump_flow(without_secrets(flow, registry)).encode("utf-8"), filename, "application/json")


async def create_from_template(builder: Builder, who: Visitor, template: Flow) -> None:
    """A new flow from a template in the visitor's workspace, opened in the editor. When the workspace
    already has a flow of that name, the visitor chooses: open that one, or make another copy."""
    place = who.workspace()
    if not who.may("flows.edit") or place is None:
        return
    places = builder.access.workspaces.flows_in()
    mine = [f for f in builder.flows.list() if places.get(f.id, DEFAULT) == place]
    taken = {f.name.casefold() for f in mine}
    name = template.name
    if name.casefold() in taken:
        same = next(f for f in mine if f.name.casefold() == name.casefold())
        with named_dialog(_("A flow of that name exists")) as dialog, ui.card().classes("w-[28rem] gap-3"):
            ui.label(_("You already have a flow named “{name}”.", name=same.name)).classes("text-lg font-medium")
            ui.label(_("Open it to keep working on it, or make another copy of the template.")).classes("text-gray-600")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(_("Cancel"), on_click=lambda: dialog.submit(None)).props("flat")
                ui.button(_("Make another copy"), on_click=lambda: dialog.submit("copy")).props("outline").mark("copy")
                ui.button(_("Open it"), on_click=lambda: dialog.submit("open")).mark("open-existing")
        choice = await dialog
        dialog.delete()
        if choice == "open":
            ui.navigate.to(f"/flows/{same.id}")
            return
        if choice != "copy" or not who.may("flows.edit"):
            return
        n = 2
        while f"{template.name} {n}".casefold() in taken:
            n += 1
        name = f"{template.name} {n}"
    copy = template.model_copy(update={"id": builder.free_id(name), "name": name})
    builder.access.workspaces.place(copy.id, place)
    builder.flows.save_draft(copy, by=who.email)
    ui.notify(_("Created “{name}” from the template.", name=name), type="positive")
    ui.navigate.to(f"/flows/{copy.id}")  # made to be tried and changed


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
        with ui.column().classes("w-full max-w-6xl mx-auto gap-4 px-2"):
            with ui.row().classes("w-full items-center gap-4"):
                ui.label(_("Flows")).classes("text-2xl font-semibold")
                spaces = who.workspaces()
                if len(spaces) > 1:
                    ui.select(
                        {w.id: w.name for w in spaces}, value=self.place, label=_("Workspace"), on_change=self._switch
                    ).props("dense outlined").classes("w-56").mark("workspace")
                ui.space()
                if who.can("flows.edit"):
                    ui.link(_("Templates"), "/templates").mark("templates")
                if who.can("channels.deploy"):
                    ui.link(_("Channels"), "/deployments").mark("deployments")
                if who.can("models.read"):
                    ui.link(_("AI models"), "/models").mark("models")
                if who.can("conversations.read"):
                    ui.link(_("Conversations"), "/conversations").mark("conversations")
                account_menu(who)
            with ui.row().classes("w-full items-center gap-2"):
                search = ui.input(placeholder=_("Search flows"), on_change=self._search)
                search.props("clearable dense outlined").classes("w-72").mark("search")
                search.props["aria-label"] = _("Search flows")
                ui.space()
                if self.place is None:
                    ui.label(_("You are not a member of any workspace yet: ask an admin to add you to one.")).mark(
                        "no-workspace"
                    )
                elif who.can("flows.edit"):
                    ui.button(_("Import"), icon="upload_file", on_click=self._import_dialog).props("outline").mark(
                        "import"
                    )
                    ui.button(_("From template"), icon="auto_awesome", on_click=self._from_template).props(
                        "outline"
                    ).mark("from-template")
                    ui.button(_("New flow"), icon="add", on_click=self._new).mark("new")
            self.rows = ui.column().classes("w-full gap-0")
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
                self._empty(searching=bool(wanted))
                return
            channels = self._channels()
            week = self.builder.runtime.store.started_since([f.id for f in flows], time.time() - WEEK)
            with ui.row().classes(f"{ROW} text-xs font-semibold uppercase tracking-wide text-gray-500 border-b"):
                ui.label(_("Flow")).classes(NAME_COLUMN)
                ui.label(_("Status")).classes(STATUS_COLUMN)
                ui.label(_("Channels")).classes(CHANNELS_COLUMN)
                ui.label(_("Last 7 days")).classes(COUNT_COLUMN).tooltip(_("Conversations started in the last 7 days"))
                ui.element("div").classes(ACTIONS_COLUMN)
            for f in flows:
                self._row(f, channels.get(f.id, []), week.get(f.id, 0))

    def _empty(self, searching: bool) -> None:
        with ui.column().classes("w-full items-center gap-2 py-16 text-center").mark("empty"):
            if searching:
                ui.icon("search_off").classes("text-5xl text-gray-300")
                ui.label(_("No flow matches your search.")).classes("text-lg text-gray-700")
                return
            ui.icon("account_tree").classes("text-5xl text-gray-300")
            ui.label(_("No flows yet")).classes("text-lg font-medium text-gray-700")
            if self.place is not None and self.who.can("flows.edit"):
                ui.label(
                    _(
                        "A flow is a conversation your bot has. Start from a template that already works, "
                        "or build one from a blank canvas."
                    )
                ).classes("text-gray-500 max-w-md")
                with ui.row().classes("gap-2 mt-2"):
                    ui.button(_("Start from a template"), icon="auto_awesome", on_click=self._from_template).mark(
                        "empty-template"
                    )
                    ui.button(_("Blank flow"), icon="add", on_click=self._new).props("outline").mark("empty-new")

    def _channels(self) -> dict[str, list[str]]:
        """Flow id → the channels it answers on (their titles; “paused” when paused)."""
        found: dict[str, list[str]] = {}
        if self.builder.channels is None:
            return found
        for d in self.builder.channels.store.deployments():
            kind = KINDS.get(d.channel)
            title = _(kind.title) if kind is not None else d.channel
            found.setdefault(d.flow_id, []).append(_("{channel} (paused)", channel=title) if d.paused else title)
        return found

    def _row(self, f: FlowSummary, channels: list[str], week: int) -> None:
        with ui.row().classes(f"{ROW} border-b hover:bg-gray-50").mark(f"flow-{f.id}"):
            with ui.column().classes(f"{NAME_COLUMN} gap-0"):
                ui.link(f.name, f"/flows/{f.id}").classes("text-base font-medium text-gray-900 no-underline truncate")
                when = ago(f.updated_at)
                edited = (
                    _("Edited {when} by {who}", when=when, who=f.edited_by)
                    if f.edited_by
                    else _("Edited {when}", when=when)
                )
                ui.label(edited).classes("text-xs text-gray-500").mark(f"edited-{f.id}")
            with ui.row().classes(f"{STATUS_COLUMN} gap-1 items-center").mark(f"status-{f.id}"):
                if f.latest_version is None:
                    ui.badge(_("Not published"), color="grey-4", text_color="grey-9").props("rounded")
                else:
                    published = _("Published · version {version}", version=f.latest_version)
                    ui.badge(published, color="green-1", text_color="green-9").props("rounded")
                    if f.unpublished:
                        ui.badge(_("Changes not published"), color="amber-2", text_color="amber-10").props("rounded")
            with ui.row().classes(f"{CHANNELS_COLUMN} gap-1").mark(f"channels-{f.id}"):
                for title in channels:
                    ui.badge(title, color="blue-1", text_color="blue-9").props("rounded")
                if not channels:
                    ui.label(_("none yet")).classes("text-sm text-gray-500")
            ui.label(f"{week:,}").classes(f"{COUNT_COLUMN} text-sm").mark(f"week-{f.id}")
            with ui.row().classes(f"{ACTIONS_COLUMN} gap-0 no-wrap"):
                self._action("menu_book", _("Knowledge base"), f"knowledge-{f.id}",
                             partial(ui.navigate.to, f"/flows/{f.id}/knowledge"))  # fmt: skip
                self._action("download", _("Export"), f"export-{f.id}", partial(self._export, f.id))
                if not self.who.can("flows.edit"):
                    return
                self._action("content_copy", _("Duplicate"), f"duplicate-{f.id}", partial(self._duplicate, f.id))
                self._action("edit", _("Rename"), f"rename-{f.id}", partial(self._rename, f.id))
                if self.who.can(_deleting(f.latest_version)):
                    self._action("delete", _("Delete"), f"delete-{f.id}", partial(self._delete, f.id))

    @staticmethod
    def _action(icon: str, words: str, marker: str, run: Callable[[], Any]) -> ui.button:
        button = ui.button(icon=icon, on_click=run).props("flat dense round color=grey-8").tooltip(words).mark(marker)
        button.props["aria-label"] = words
        return button

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
        self.builder.flows.save_draft(flow, by=self.who.email)
        ui.notify(message, type="positive")
        self.refresh()

    async def _ask_name(self, title: str, value: str = "") -> str | None:
        """A name typed in a dialog (the field has the focus; Enter confirms), or None when cancelled.
        An empty name is refused beside the field and the dialog stays open."""

        def confirm() -> None:
            typed = str(name.value or "").strip()
            if not typed:
                name.props["error"] = True
                name.props["error-message"] = _("Give the flow a name, such as “Order help”.")
                name.update()
                return
            dialog.submit(typed)

        with named_dialog(title) as dialog, ui.card().classes("w-96 gap-3"):
            ui.label(title).classes("text-lg font-medium")
            name = ui.input(_("Name"), value=value).props("autofocus outlined").classes("w-full").mark("name")
            name.on("keydown.enter", confirm)
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(_("Cancel"), on_click=lambda: dialog.submit(None)).props("flat").mark("cancel")
                ui.button(_("OK"), on_click=confirm).mark("ok")
        answer = await dialog
        dialog.delete()
        return (answer or "").strip() or None

    async def _new(self) -> None:
        if not self.who.may("flows.edit"):
            return
        name = await self._ask_name(_("A name for the new flow"))
        if name:
            flow = Flow(id=self.builder.free_id(name), name=name, start="start", nodes=[BLANK_START])
            self._save(flow, _("Created “{name}”.", name=name))
            ui.navigate.to(f"/flows/{flow.id}")  # a new flow is made to be edited

    async def _from_template(self) -> None:
        if not self.who.may("flows.edit") or self.place is None:
            return
        templates = {t.id: t for t in self.builder.templates()}
        with named_dialog(_("Start from a template")) as dialog, ui.card().classes("w-[44rem] max-w-full gap-3"):
            with ui.row().classes("w-full items-center"):
                ui.label(_("Start from a template")).classes("text-lg font-medium")
                ui.space()
                cancel = ui.button(icon="close", on_click=lambda: dialog.submit(None)).props("flat round dense")
                cancel.props["aria-label"] = _("Cancel")
                cancel.mark("cancel")
            ui.label(_("Each one works as it is: try it in the test chat, then change it to fit.")).classes(
                "text-sm text-gray-500 -mt-2"
            )
            with ui.grid(columns=2).classes("w-full gap-3"):
                for t in templates.values():
                    with (
                        ui.card()
                        .tight()
                        .classes("cursor-pointer p-3 gap-1 hover:shadow-md border border-gray-200 shadow-none")
                        .on("click", lambda _, i=t.id: dialog.submit(i))
                        .props('tabindex="0" role="button"')
                        .mark(f"template-{t.id}") as card
                    ):
                        card.props["aria-label"] = _("Use the template {name}", name=t.name)
                        ui.label(t.name).classes("font-medium")
                        ui.label(t.description).classes("text-sm text-gray-500")
                        ui.label(n_("{count} step", "{count} steps", len(t.nodes))).classes("text-xs text-gray-500")
                    card.on("keydown.enter", lambda _, i=t.id: dialog.submit(i))
            with ui.row().classes("w-full justify-end"):
                ui.button(_("Cancel"), on_click=lambda: dialog.submit(None)).props("flat")
        chosen = await dialog
        dialog.delete()
        if chosen:
            await create_from_template(self.builder, self.who, templates[chosen])

    async def _import_dialog(self) -> None:
        if not self.who.may("flows.edit") or self.place is None:
            return
        with named_dialog(_("Import a flow file")) as dialog, ui.card().classes("w-[32rem] gap-3"):
            ui.label(_("Import a flow file")).classes("text-lg font-medium")
            ui.label(
                _(
                    "A .json file exported from Chatloom (Export on this page, or `chatloom export`). "
                    "It becomes a new draft; nothing is published."
                )
            ).classes("text-sm text-gray-600")
            drop = FileDrop(
                _("Choose a flow file"),
                _("or drop it here"),
                accept=".json",
                max_file_size=MAX_IMPORT,
                on_upload=self._import,
                on_rejected=self._refused,
                multiple=False,
            )
            self.upload = drop.upload.mark("upload")
            drop.button.mark("choose-file")
            with ui.row().classes("w-full justify-end"):
                ui.button(_("Close"), on_click=dialog.close).props("flat").mark("close")
        dialog.open()

    @staticmethod
    def _refused(files: list[tuple[str, str]]) -> None:
        for name, rule in files:
            if rule == "accept":
                said = _("“{name}” is not a flow file: choose a .json file exported from Chatloom.", name=name)
            else:
                said = _("“{name}” is larger than 5 MB: a flow file is much smaller.", name=name)
            ui.notify(said, type="negative")

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
        self._save(flow, _("Imported “{name}”.", name=flow.name))
        if has_errors(problems):
            ui.notify(_("“{name}” has problems to fix before it can be published.", name=flow.name), type="warning")

    def _export(self, flow_id: str) -> None:
        """Download the draft as `<flow id>.json`."""
        download_flow(self.builder.flows.draft(flow_id), f"{flow_id}.json", self.builder.registry)

    def _duplicate(self, flow_id: str) -> None:
        flow = self.builder.flows.draft(flow_id)
        name = _("{name} (copy)", name=flow.name)
        copy = flow.model_copy(update={"id": self.builder.free_id(name), "name": name})
        self._save(copy, _("Duplicated as “{name}”.", name=name))

    async def _rename(self, flow_id: str) -> None:
        flow = self.builder.flows.draft(flow_id)
        name = await self._ask_name(_("Rename the flow"), flow.name)
        if name and name != flow.name:
            self._save(flow.model_copy(update={"name": name}), _("Renamed to “{name}”.", name=name))

    async def _delete(self, flow_id: str) -> None:
        flow = self.builder.flows.draft(flow_id)
        published = next((f.latest_version for f in self.builder.flows.list() if f.id == flow_id), None)
        if not self.who.may(_deleting(published)):
            return
        with named_dialog(_("Delete the flow")) as dialog, ui.card():
            ui.label(_("Delete “{name}” and all its published versions? This cannot be undone.", name=flow.name))
            with ui.row():
                ui.button(_("Cancel"), on_click=lambda: dialog.submit(False)).props("flat")
                ui.button(_("Delete"), on_click=lambda: dialog.submit(True)).props("color=negative").mark("confirm")
        confirmed = await dialog
        dialog.delete()
        if confirmed and self.who.may(_deleting(published)):
            self.builder.flows.delete(flow_id)
            self.builder.access.workspaces.forget_flow(flow_id)
            self.who.record("flow.delete", flow_id, {"published_versions": published or 0})
            ui.notify(_("Deleted “{name}”.", name=flow.name))
            self.refresh()


def _deleting(published: int | None) -> str:
    """Deleting a draft is building; deleting published versions (which may be deployed) is publishing."""
    return "flows.publish" if published else "flows.edit"

"""The flow editor: a flow's draft on the canvas, a palette of node types, the selected node's
settings, the flow's problems, and a test chat.

Every edit is saved to the draft at once and can be undone; an edit the flow cannot take is
refused in words and undone on the canvas.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable
from itertools import groupby
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from nicegui import app, events, ui

from builder import graph_edit, tour
from builder.access import Visitor, account_menu, enter
from builder.canvas import CanvasEdge, CanvasNode, FlowCanvas, bundle_missing
from builder.cards import CATEGORIES, card_data, look
from builder.chat_dock import ChatDock
from builder.chat_panel import ChatPanel
from builder.context import WIDE, Builder
from builder.forms import SettingsForm
from builder.graph_edit import Refused
from builder.history import Entry, History
from builder.i18n import _, n_
from builder.merge import merge_fields, rebase
from builder.pages.versions import publish_draft
from flows.models import Edge, Flow, Node, Note
from flows.problems import FlowInvalid, Problem
from flows.store import FlowNotFound
from flows.validate import validate
from nodes.api import NodeType, SettingsError
from nodes.control.start import NODE as START
from nodes.registry import Registry

log = logging.getLogger(__name__)
NEW_NODE_GAP = 320  # where a double-clicked palette entry lands before the view is known: right of the flow
CARD_WIDTH = graph_edit.CARD_WIDTH
NODE_ID = re.compile(r"[Nn]ode '(?P<id>[^']+)'")  # how the flow checks name a step
CLASH_SECONDS = 60  # a change to a field someone else changed this recently is said to them
FIELD_EDITS = 10_000  # field changes remembered for that, across all flows
SIDE_WIDTH, CANVAS_MIN_WIDTH = "24rem", "28rem"  # the side panel, and the least the canvas keeps
# dragging the side panel's left edge: wider or narrower, between 18rem and half the window
RESIZE_JS = """(e) => {
  const column = e.target.parentElement, startX = e.clientX, startWidth = column.getBoundingClientRect().width;
  const move = (m) => {
    const width = Math.min(Math.max(startWidth + startX - m.clientX, 288), window.innerWidth * 0.5);
    column.style.width = width + 'px';
  };
  const up = () => { window.removeEventListener('pointermove', move); window.removeEventListener('pointerup', up); };
  window.addEventListener('pointermove', move);
  window.addEventListener('pointerup', up);
  e.preventDefault();
}"""  # steps added in the middle of the view land this far below each other
# flows with more nodes draw only the cards in and around the view (figures: `python -m benchmarks`)
VISIBLE_ONLY_FROM = 150
NOTE = "note:"  # canvas ids of notes; a flow id cannot contain ":", so they never meet a node's
CLIPBOARDS = 100  # browsers whose last copy is kept
# the first field of a step's settings, once the panel shows that step (it is drawn a moment later);
# only while the person is still where they added it from (the palette, or nowhere in particular):
# a card or a field they went to meanwhile keeps the keyboard
FOCUS_FIRST_FIELD = """(() => {
  const id = %s;
  const free = () => {
    const at = document.activeElement;
    return !at || at === document.body || !!at.closest('[data-node-type]');
  };
  let tries = 0;
  const look = () => {
    if (!free()) return;
    const panel = document.querySelector(`[data-settings-of="${CSS.escape(id)}"]`);
    const field = panel && panel.querySelector('input:not([type=hidden]):not([readonly]), textarea');
    if (field) field.focus();
    else if (tries++ < 40) requestAnimationFrame(look);
  };
  look();
})()"""
EXIT_CHOICES = 80  # steps listed under “Where it goes next” in a large flow: the nearest on the canvas
SHOWN_PROBLEMS = 50  # the problems list names this many, then counts the rest


def register(builder: Builder) -> None:
    @ui.page("/flows/{flow_id}")
    def editor(flow_id: str, request: Request, focus: str = "") -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        try:
            flow = builder.flows.draft(flow_id)
        except FlowNotFound:
            ui.label(_("There is no flow “{flow}”.", flow=flow_id))
            ui.link(_("Back to the flows"), "/")
            return None
        ui.query("body").classes(WIDE)  # the canvas takes the whole window
        opened = Editor(builder, flow, who)
        if focus and flow.node(focus) is not None:  # from a link that names a step (a publish refusal)
            ui.timer(0.3, lambda: opened.focus(focus), once=True)
        return None


def palette_order(registry: Registry) -> list[NodeType]:
    """The types a person can add, most used categories first (the start step is not one: a flow has
    exactly one); a plugin's own category comes last."""
    rank = {c: i for i, c in enumerate(CATEGORIES)}
    addable = [s for s in registry if s.type != START.type]
    return sorted(addable, key=lambda s: rank.get(s.category, len(rank)))  # stable: registry order inside


def _split(ids: list[str]) -> tuple[set[str], frozenset[str]]:
    """Canvas ids → (node ids, note ids)."""
    return {i for i in ids if not i.startswith(NOTE)}, frozenset(i[len(NOTE) :] for i in ids if i.startswith(NOTE))


def variable_names(flow: Flow) -> list[str]:
    """The variables a template in this flow can use: the declared ones, then those its steps save."""
    names = [v.name for v in flow.variables]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and item and (key == "variable" or key.startswith("save_")):
                    names.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for node in flow.nodes:
        walk(node.settings)
    return list(dict.fromkeys(names))


class Editor:
    """One browser tab's editor of one flow."""

    def __init__(self, builder: Builder, flow: Flow, who: Visitor) -> None:
        self.builder, self.flow, self.who = builder, flow, who
        self.registry = builder.registry
        self.history = History()
        self.selected_nodes: list[str] = []  # canvas ids, notes included
        self.selected_edges: list[str] = []
        self.chat: ChatPanel | None = None
        self.unsaved: dict[str, list[str]] = {}  # node id → why its open form is not saved
        self.form_base: dict[str, Any] = {}  # the open form's settings as last saved or shown (merge base)
        self.exits_box: ui.column | None = None  # where the selected step's exits lead, when one is shown
        self.exits_shown: tuple[Any, ...] = ()  # what the exits box lists now
        self.just_added: str | None = None  # a step just added: its settings open with the first field ready
        self.view_centre: tuple[float, float] | None = None  # the middle of the view, once the browser says
        if bundle_missing():
            log.error("canvas bundle missing; run `make` to build builder/canvas/dist")
            ui.label(_("The canvas was not built: run `make run` (it builds it with npm).")).classes("text-negative")
        with ui.row().classes("w-full items-center gap-2"):
            ui.link(_("← Flows"), "/")
            ui.label(flow.name).classes("text-xl font-medium").mark("flow-name")
            self.presence = ui.row().classes("items-center gap-1").mark("presence")
            ui.space()
            self._toolbar()
            ui.space()
            ui.link(_("Versions and publishing"), f"/flows/{flow.id}/versions").props('data-tour="publish"').mark(
                "versions"
            )
            if who.can("flows.publish"):
                ui.button(_("Publish"), icon="rocket_launch", on_click=self.publish).props("unelevated").mark("publish")
            if who.can("flows.edit"):
                ui.button(_("Test chat"), icon="chat", on_click=self._toggle_chat).props(
                    'outline data-tour="test-chat"'
                ).mark("test-chat")
            else:
                ui.label(_("Read only")).classes("text-gray-500").mark("read-only")
            helper = ui.button(icon="help_outline", on_click=tour.start).props("flat round dense")
            helper.tooltip(_("Show the tour of the editor")).mark("tour")
            helper.props["aria-label"] = _("Show the tour")
            account_menu(who)
        # over the canvas, not in the page's flow: an empty one must not push the page below the window
        self.notices = (
            ui.column()
            .classes("gap-1 fixed top-16 left-1/2 -translate-x-1/2 z-50 w-[36rem] max-w-full")
            .mark("notices")
        )
        with ui.row().classes("w-full no-wrap gap-2").style("height: calc(100vh - 90px)"):
            if who.can("flows.edit"):
                self._palette()
            self.canvas = (
                FlowCanvas(
                    self._cards(), [self.line(e) for e in flow.edges], visible_only=len(flow.nodes) > VISIBLE_ONLY_FROM
                )
                .classes("grow h-full border rounded")
                .style(f"min-width: {CANVAS_MIN_WIDTH}")
                .props('data-tour="canvas"')
            )
            self.canvas.on("connect", self._on_connect)
            self.canvas.on("move", self._on_move)
            self.canvas.on("remove", self._on_remove)
            self.canvas.on("select", self._on_select)
            self.canvas.on("drop", self._on_drop)
            self.canvas.on("command", self._on_command)
            self.canvas.on("view", self._on_view)
            self._side_panel()
        self._show_problems()
        self._update_buttons()
        tour.install()
        self._join()

    # two people on one flow: every saved edit reaches the other tabs at once (they run in this process)

    def _others(self) -> list[Editor]:
        return [e for e in self.builder.editing.get(self.flow.id, []) if e is not self]

    def _join(self) -> None:
        self.builder.editing.setdefault(self.flow.id, []).append(self)
        ui.context.client.on_disconnect(self._leave)
        for editor in [self, *self._others()]:
            editor._show_presence()

    def _leave(self) -> None:
        tabs = self.builder.editing.get(self.flow.id, [])
        if self in tabs:
            tabs.remove(self)
        if not tabs:
            self.builder.editing.pop(self.flow.id, None)
        for editor in tabs:
            editor._show_presence()

    def _show_presence(self) -> None:
        """Who else has this flow open, as small initials with their address on hover."""
        people = sorted({e.who.email for e in self._others()})
        self.presence.clear()
        with self.presence:
            for email in people:
                words = (
                    _("you have it open in another tab too")
                    if email == self.who.email
                    else _("{email} is editing it too", email=email)
                )
                avatar = ui.avatar(email[:1].upper(), color="indigo-5", text_color="white", size="sm").tooltip(words)
                avatar.props["aria-label"] = words
            if people:
                ui.label(_("also here")).classes("text-xs text-gray-500")

    def _note_field_edits(self, node: Node, fields: list[str]) -> None:
        """Remember who changed these fields; someone else who changed one of them a moment ago is told
        that this later change replaced theirs (the later edit wins, and nobody loses work unawares)."""
        now = time.monotonic()
        spec = self.registry.get(node.type)
        titles = spec.settings.model_fields if spec else {}
        for name in fields:
            key = (self.flow.id, node.id, name)
            earlier = self.builder.field_edits.get(key)
            self.builder.field_edits[key] = (self.who.email, now)
            if earlier is None or earlier[0] == self.who.email or now - earlier[1] > CLASH_SECONDS:
                continue
            info = titles.get(name)
            field = f"“{_(info.title) if info is not None and info.title else name}”"
            for editor in self._others():
                if editor.who.email == earlier[0]:
                    editor.tell(_("{who} changed {field} of “{step}” after you; their text is the one kept.",
                                  who=self.who.email, field=field, step=self._step_name(node)))  # fmt: skip
        while len(self.builder.field_edits) > FIELD_EDITS:  # the oldest are forgotten
            del self.builder.field_edits[next(iter(self.builder.field_edits))]

    def tell(self, message: str) -> None:
        """A notice that stays until read (a toast could pass unseen): someone else's edit replaced this
        person's, or took away what they had open."""
        with (
            self.notices,
            ui.row().classes(
                "w-full items-center no-wrap gap-2 rounded bg-amber-50 border border-amber-200 px-3 py-1 text-sm"
            ) as notice,
        ):
            ui.icon("group").classes("text-amber-700")
            ui.label(message).classes("grow").mark("notice")
            dismiss = ui.button(icon="close", on_click=notice.delete).props("flat dense round size=sm")
            dismiss.props["aria-label"] = _("Dismiss")

    def _broadcast(self, clashes: list[str]) -> None:
        for editor in self._others():
            editor.changed_elsewhere(self.flow, self.who.email, clashes)

    def changed_elsewhere(self, flow: Flow, by: str, clashes: list[str]) -> None:
        """Another tab saved the draft: show it here, keeping this person's selection and open form."""
        before, self.flow = self.flow, flow
        self._redraw()
        self._show_problems()
        if clashes:  # the later edit won: say so to the one whose change it replaced
            self.tell(
                _(
                    "{who} changed what you changed too ({what}); theirs was later and is kept.",
                    who=by,
                    what=", ".join(clashes),
                )
            )
        node = self.flow.node(self.selected) if self.selected else None
        if node is None and self.selected and not self.selected.startswith(NOTE):
            self.tell(_("{who} deleted the step you had open.", who=by))
            self.show_settings(None)
            return
        old = before.node(self.selected) if self.selected else None
        if node is not None and old is not None and old.settings != node.settings:
            self.show_settings(node.id)  # the form shows the settings as they are now
        elif node is not None and self.exits_box is not None:
            self._show_exits(node)

    def _toolbar(self) -> None:
        def button(icon: str, tip: str, marker: str, action: Callable[[], Any]) -> ui.button:
            named = ui.button(icon=icon, on_click=action).props("flat dense").tooltip(tip).mark(marker)
            named.props["aria-label"] = tip  # what a screen reader (and a browser test) calls it
            return named

        with ui.row().classes("gap-0 items-center"):
            if not self.who.can("flows.edit"):
                self.undo_button = self.redo_button = None
                button("fit_screen", _("Show the whole flow"), "fit", self.canvas_fit)
                return
            self.undo_button = button("undo", _("Undo (Ctrl+Z)"), "undo", self.undo)
            self.redo_button = button("redo", _("Redo (Ctrl+Shift+Z)"), "redo", self.redo)
            ui.separator().props("vertical")
            button("content_copy", _("Copy the selected nodes (Ctrl+C)"), "copy", lambda: self.canvas.command("copy"))
            button("content_paste", _("Paste (Ctrl+V)"), "paste", lambda: self.canvas.command("paste"))
            button("library_add", _("Duplicate the selected nodes (Ctrl+D)"), "duplicate",
                   lambda: self.canvas.command("duplicate"))  # fmt: skip
            button("delete", _("Delete the selection (Delete)"), "delete", lambda: self.canvas.command("delete"))
            ui.separator().props("vertical")
            button("sticky_note_2", _("Add a note"), "add-note", self.add_note)
            button("account_tree", _("Arrange the flow from left to right"), "layout", self.auto_layout)
            button("fit_screen", _("Show the whole flow"), "fit", self.canvas_fit)

    def _side_panel(self) -> None:
        """The right column: the selected step's settings, or the test chat, above the flow's problems.
        Its left edge can be dragged to make it wider; the canvas keeps a usable width whatever it is."""
        with (
            ui.column()
            .classes("h-full no-wrap gap-2 relative")
            .style(f"width: {SIDE_WIDTH}; flex: none; overflow-x: hidden")
            .props('data-tour="side"') as self.side_column
        ):
            edge = (
                ui.element("div")
                .classes("absolute left-0 top-0 h-full w-1.5 cursor-col-resize hover:bg-blue-200 z-10")
                .on("pointerdown", js_handler=RESIZE_JS)
            )
            edge.props('role="separator" aria-orientation="vertical"')
            edge.props["aria-label"] = _("Drag to resize the side panel")
            with ui.tabs().props("dense align=left no-caps").classes("w-full pl-2") as self.side_tabs:
                ui.tab("settings", _("Step settings"), icon="tune").mark("tab-settings")
                if self.who.can("flows.edit"):
                    ui.tab("chat", _("Test chat"), icon="chat").mark("tab-chat")
            with (
                ui.tab_panels(self.side_tabs, value="settings")
                .classes("w-full grow pl-2")
                .props("keep-alive") as self.side_panels
            ):
                with ui.tab_panel("settings").classes("p-0"):
                    self.side = ui.column().classes("w-full h-full overflow-auto").mark("settings")
                    self._nothing_selected()
                self.chat_place = ui.tab_panel("chat").classes("p-0")
            self.side_tabs.on_value_change(lambda e: self._on_side_tab(str(e.value)))
            self.problems_box = ui.column().classes("w-full max-h-72 shrink-0 overflow-auto gap-1 border-t pt-2 pl-2")
            self.problems_box.mark("problems")
        # the chat can float over the canvas instead (it is made beside the canvas, not in this column)
        self.chat_dock = ChatDock(self.chat_place, ui.context.slot.parent, on_change=self._on_chat_moved)

    def _nothing_selected(self) -> None:
        """The side panel with no step chosen: what to do, and the tour for someone new."""
        with self.side:
            ui.label(_("Select a step to see its settings.")).classes("text-sm text-gray-500")
            if not self.who.can("flows.edit") or tour.seen():
                return
            with ui.card().classes("w-full shadow-none border bg-blue-50 gap-2 mt-2").mark("tour-offer") as offer:
                ui.label(_("New here?")).classes("font-medium")
                ui.label(_("A one-minute tour shows where everything is.")).classes("text-sm text-gray-700")

                def answer(take: bool) -> None:
                    if take:
                        tour.start()  # it is marked seen when it ends, taken to the end or skipped
                    else:
                        tour.mark_seen()
                    offer.delete()  # last: the page's script is sent through the element clicked

                with ui.row().classes("gap-2"):
                    ui.button(_("Show me"), icon="tour", on_click=lambda: answer(True)).props("dense unelevated").mark(
                        "tour-start"
                    )
                    ui.button(_("No thanks"), on_click=lambda: answer(False)).props("dense flat").mark("tour-skip")

    def publish(self) -> None:
        """Publish the draft as the next version, from the editor (the versions page does the same, with
        a note). A flow with errors is not published: the first one's step is shown."""
        if not self.who.may("flows.publish"):
            return
        if self.unsaved:  # what the open form shows is not what would be published
            ui.notify(_("Not published: a value in the open step could not be saved; fix it first."), type="warning")
            return
        try:
            version = publish_draft(self.builder, self.who, self.flow.id)
        except FlowInvalid as exc:
            errors = [p for p in exc.problems if p.severity == "error"]
            said = n_(
                "Not published: {count} error to fix first, listed under the settings.",
                "Not published: {count} errors to fix first, listed under the settings.",
                len(errors),
            )
            ui.notify(said, type="negative")
            step = next((p.node_id for p in errors if p.node_id), None)
            if step:
                self.canvas.focus(step)
            return
        address = f"/api/flows/{self.flow.id}/conversations"
        said = _("Version {version} is live: it answers at POST {address} and on the channels that run it.",
                 version=version, address=address)  # fmt: skip
        ui.notify(said, type="positive", multi_line=True)

    def _on_side_tab(self, tab: str) -> None:
        if tab == "chat":
            self._open_chat()
            if self.chat is not None:  # ready to answer the bot: no click into the box first
                self.chat.entry.run_method("focus")

    def canvas_fit(self) -> None:
        self.canvas.fit()

    def _toggle_chat(self) -> None:
        """Show the test chat in the side panel, or go back to the step settings (a floating chat is
        already in view: its text field is focused)."""
        if self.chat_dock.undocked and self.chat is not None:
            self.chat.entry.run_method("focus")
            return
        self.side_tabs.set_value("settings" if self.side_tabs.value == "chat" else "chat")

    def _on_chat_moved(self) -> None:
        """Undocked, the side panel leaves the canvas the whole width while no step is chosen; docked,
        the chat is shown where it went back to."""
        if self.chat_dock.undocked and self.side_tabs.value == "chat":
            self.side_tabs.set_value("settings")
        elif not self.chat_dock.undocked:
            self.side_tabs.set_value("chat")
        self._fit_side(showing=False)

    def _fit_side(self, showing: bool) -> None:
        """The side panel is shown while the chat is docked, and otherwise only while it `showing` a step."""
        self.side_column.set_visibility(not self.chat_dock.undocked or showing)

    def _open_chat(self) -> None:
        """The test chat on the current draft (made on first use: it runs its own runtime)."""
        if not self.who.may("flows.edit") or self.chat is not None:
            return
        with self.chat_place:
            self.chat = ChatPanel(self.builder, self.flow.id, on_node=self.canvas.highlight)
        self.chat_dock.attach(self.chat)

    # what the canvas shows

    def _cards(self) -> list[CanvasNode]:
        return [*(self.card(n) for n in self.flow.nodes), *(self.note_card(n) for n in self.flow.notes)]

    def card(self, node: Node) -> CanvasNode:
        """A node as the canvas draws it (builder/cards.py: colour, icon, title, what it says, exits)."""
        inputs, outputs = graph_edit.ports(self.flow, node, self.registry)
        data = card_data(self.flow, node, self.registry, inputs, outputs)
        # how tall it is about to be: a large flow's canvas places cards it has not drawn yet by it
        data["height"] = graph_edit.drawn_height(data, outputs)
        return {
            "id": node.id,
            "type": "card",
            "position": {"x": node.ui.get("x", 0), "y": node.ui.get("y", 0)},
            "data": data,
        }

    @staticmethod
    def note_card(note: Note) -> CanvasNode:
        """A sticky note as the canvas draws it."""
        return {
            "id": NOTE + note.id,
            "type": "note",
            "position": {"x": note.ui.get("x", 0), "y": note.ui.get("y", 0)},
            "data": {"text": note.text},
        }

    @staticmethod
    def line(edge: Edge) -> CanvasEdge:
        """An edge as the canvas draws it."""
        return {
            "id": edge.id,
            "source": edge.source,
            "sourceHandle": edge.source_port,
            "target": edge.target,
            "targetHandle": edge.target_port,
        }

    def _redraw(self) -> None:
        self.canvas.set_graph(self._cards(), [self.line(e) for e in self.flow.edges])

    def _palette(self) -> None:
        with (
            ui.column()
            .classes("w-64 shrink-0 h-full overflow-auto no-wrap gap-1 pr-1")
            .props('data-tour="palette"')
            .mark("palette")
        ):
            search = ui.input(placeholder=_("Search steps")).props("dense outlined clearable").classes("w-full")
            search.props["aria-label"] = _("Search steps")
            search.mark("palette-search")
            with search.add_slot("prepend"):
                ui.icon("search").classes("text-gray-500")
            ui.label(_("Drag a step onto the canvas, or double-click it.")).classes("text-xs text-gray-500")
            entries: list[tuple[str, ui.element]] = []
            headers: dict[str, tuple[ui.label, list[ui.element]]] = {}
            for category, specs in groupby(palette_order(self.registry), key=lambda s: s.category):
                header = ui.label(_(category)).classes(
                    "text-xs font-semibold uppercase tracking-wide text-gray-500 mt-3"
                )
                header.mark(f"category-{category}")
                headers[category] = (header, [])
                for spec in specs:
                    item = self._palette_entry(spec)
                    words = f"{_(spec.title)} {spec.type} {_(category)} {_(spec.description)}".casefold()
                    entries.append((words, item))
                    headers[category][1].append(item)

            def filter_palette(e: events.ValueChangeEventArguments) -> None:
                wanted = str(e.value or "").casefold().split()
                for words, item in entries:
                    item.set_visibility(all(w in words for w in wanted))
                for header, items in headers.values():
                    header.set_visibility(any(i.visible for i in items))

            search.on_value_change(filter_palette)

    def _palette_entry(self, spec: NodeType) -> ui.element:
        """A step to drag onto the canvas: its icon in its category's colour, its title, what it does."""
        color, icon = look(spec)
        with ui.row().classes(
            "w-full no-wrap items-start gap-2 cursor-grab rounded-lg border border-gray-200 bg-white px-2 py-1.5 "
            "hover:border-gray-400 hover:shadow-sm"
        ) as item:
            ui.icon(icon).classes("shrink-0 rounded-md p-1 text-white text-base").style(f"background:{color}")
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(_(spec.title)).classes("text-sm font-medium text-gray-800 leading-tight")
                if spec.description:
                    ui.label(_(spec.description)).classes("text-xs text-gray-500 leading-snug line-clamp-2")
        # its name is what it shows (title, then what it does); Enter or Space adds it
        item.props(f'draggable="true" data-node-type="{spec.type}" tabindex="0" role="button"')
        item.mark(f"palette-{spec.type}")
        item.on("dragstart", js_handler=f"(e) => e.dataTransfer.setData('application/x-chatloom-node', '{spec.type}')")
        item.on("dblclick", lambda _, t=spec.type: self.add_node(t, *self._next_free_spot(), reveal=True))
        item.on("keydown.enter", lambda _, t=spec.type: self.add_node(t, *self._next_free_spot(), reveal=True))
        item.on("keydown.space", lambda _, t=spec.type: self.add_node(t, *self._next_free_spot(), reveal=True))
        if spec.description:
            item.tooltip(_(spec.description))
        return item

    def _on_view(self, e: events.GenericEventArguments) -> None:
        try:
            self.view_centre = (float(e.args["x"]), float(e.args["y"]))
        except (KeyError, TypeError, ValueError):
            return

    def _next_free_spot(self) -> tuple[float, float]:
        """Where a step added without dragging lands: the free place nearest the middle of the view, or
        right of the flow before the browser has said where the view is."""
        if self.view_centre is not None:
            x, y = self.view_centre
            return graph_edit.free_spot(self.flow, self.registry, x - CARD_WIDTH / 2, y - 40)
        xs = [float(n.ui.get("x", 0)) for n in self.flow.nodes]
        return (max(xs) + NEW_NODE_GAP if xs else 0.0), 0.0

    # every edit goes through here: it can be undone, is saved, and the problems are checked again

    def _apply(self, flow: Flow, label: str, key: str | None = None, clashes: list[str] | None = None) -> bool:
        if not self._may_edit():
            return False
        self.history.record(self.flow, label, key)
        self.history.settle(flow)
        self._save(flow, clashes)
        return True

    def _may_edit(self) -> bool:
        """The visitor may still change this draft; if not, the canvas goes back to what is saved."""
        if self.who.may("flows.edit"):
            return True
        self._redraw()
        return False

    def _save(self, flow: Flow, clashes: list[str] | None = None) -> None:
        self.builder.flows.save_draft(flow, by=self.who.email)
        self.flow = flow
        self._show_problems()
        self._update_buttons()
        self._broadcast(clashes or [])
        shown = self.flow.node(self.selected) if self.selected and self.exits_box is not None else None
        if shown is not None:
            self._show_exits(shown)  # a connection made on the canvas, or exits that changed with the settings

    def _refuse(self, reason: str, redraw: bool = True) -> None:
        log.info("canvas edit refused in flow %s: %s", self.flow.id, reason)
        ui.notify(reason, type="warning")
        if redraw:
            self._redraw()

    def _update_buttons(self) -> None:
        if self.undo_button is None or self.redo_button is None:
            return
        for button, entries, redo in ((self.undo_button, self.history.undos, False),
                                      (self.redo_button, self.history.redos, True)):  # fmt: skip
            button.set_enabled(bool(entries))
            if not entries:
                button.props["aria-label"] = _("Redo") if redo else _("Undo")
                continue
            edit = entries[-1].label  # what the edit did, in the builder's language
            button.props["aria-label"] = _("Redo {edit}", edit=edit) if redo else _("Undo {edit}", edit=edit)

    def undo(self) -> None:
        """Go back to the draft before the last edit."""
        self._travel(self.history.undo(self.flow), _("Nothing to undo."))

    def redo(self) -> None:
        """Make the last undone edit again."""
        self._travel(self.history.redo(self.flow), _("Nothing to redo."), redo=True)

    def _travel(self, entry: Entry | None, nothing: str, redo: bool = False) -> None:
        if not self._may_edit():
            return
        if entry is None:
            ui.notify(nothing)
            return
        target = entry.flow
        if entry.after is not None and entry.after != self.flow:
            # someone else changed the draft since: take back (or redo) this person's change only
            target, kept = rebase(entry.after, entry.flow, self.flow, prefer="theirs")
            if kept:
                ui.notify(_("Left as someone else changed it since: {what}.", what=", ".join(kept)), multi_line=True)
        self.history.settle(target, redo=not redo)  # the entry that takes this step back again
        self._save(target)
        self._redraw()
        self.show_settings(self.selected_nodes[0] if len(self.selected_nodes) == 1 else None)

    def add_node(self, type_name: str, x: float, y: float, reveal: bool = False) -> None:
        """Add a node of this type at (x, y) and show it (`reveal`: bring it into view if it is out of it)."""
        spec = self.registry.get(type_name)
        if spec is None:
            self._refuse(_("The node type {type} is not installed.", type=repr(type_name)), redraw=False)
            return
        flow, node = graph_edit.add_node(self.flow, spec, x, y)
        if not self._apply(flow, _("add {step}", step=_(spec.title))):
            return
        self.canvas.add_nodes([self.card(node)])
        if reveal:
            self.canvas.reveal(node.id)
        # a new step is there to be filled in: chosen, its settings open, the cursor in its first field
        self.just_added = node.id
        self.canvas.select([node.id])

    def add_note(self) -> None:
        """Add an empty sticky note right of the flow, selected so it can be written at once."""
        flow, note = graph_edit.add_note(self.flow, *self._next_free_spot())
        if not self._apply(flow, _("add a note")):
            return
        self.canvas.add_nodes([self.note_card(note)])
        self.canvas.select([NOTE + note.id])

    def auto_layout(self) -> None:
        """Arrange the nodes left to right in the order a conversation meets them."""
        if not self._apply(graph_edit.auto_layout(self.flow, self.registry), _("arrange the flow")):
            return
        self._redraw()
        self.canvas.fit()

    def _on_drop(self, e: events.GenericEventArguments) -> None:
        self.add_node(str(e.args.get("type", "")), float(e.args.get("x", 0)), float(e.args.get("y", 0)))

    def _on_connect(self, e: events.GenericEventArguments) -> None:
        a: dict[str, Any] = e.args
        try:
            flow, edge = graph_edit.connect(
                self.flow,
                self.registry,
                source=str(a.get("source")),
                source_port=str(a.get("source_port") or "out"),
                target=str(a.get("target")),
                target_port=str(a.get("target_port") or "in"),
            )
        except Refused as exc:
            self._refuse(str(exc), redraw=False)  # nothing was drawn, so nothing to undo
            return
        if not self._apply(flow, _("connect")):
            return
        self.canvas.add_edges([self.line(edge)])

    def _on_move(self, e: events.GenericEventArguments) -> None:
        try:
            moved = {str(n["id"]): (float(n["x"]), float(n["y"])) for n in e.args.get("nodes", [])}
            nodes = {k: v for k, v in moved.items() if not k.startswith(NOTE)}
            notes = {k[len(NOTE) :]: v for k, v in moved.items() if k.startswith(NOTE)}
            count = len(moved)
            self._apply(graph_edit.move(self.flow, nodes, notes), n_("move a node", "move {count} nodes", count))
        except (Refused, KeyError, TypeError, ValueError) as exc:
            self._refuse(str(exc) if isinstance(exc, Refused) else _("That move could not be saved."))

    def _on_remove(self, e: events.GenericEventArguments) -> None:
        self.delete([str(i) for i in e.args.get("nodes", [])], [str(i) for i in e.args.get("edges", [])])

    def delete(self, canvas_ids: list[str], edge_ids: list[str]) -> None:
        """Delete these nodes and notes (with their connections) and these connections."""
        nodes, notes = _split(canvas_ids)
        if not (nodes or notes or edge_ids):
            ui.notify(_("Select what to delete first."))
            return
        try:
            flow = graph_edit.remove(self.flow, nodes, set(edge_ids), notes)
        except Refused as exc:
            self._refuse(str(exc))
            return
        kept = {x.id for x in flow.edges}
        gone_edges = [x.id for x in self.flow.edges if x.id not in kept]
        count = len(nodes) + len(notes)
        if not self._apply(
            flow, n_("delete {count} item", "delete {count} items", count) if count else _("delete a connection")
        ):
            return
        self.canvas.remove_elements(sorted(canvas_ids), gone_edges)
        if self.selected in canvas_ids:
            self.show_settings(None)

    # copy, paste, duplicate: the clipboard is the browser's, so a copy can be pasted into another flow

    def _clipboard_key(self) -> str:
        return f"clipboard:{app.storage.browser.get('id', '')}"

    def copy(self, canvas_ids: list[str]) -> bool:
        """Copy these nodes (with the connections between them) and notes; False when there is nothing."""
        nodes, notes = _split(canvas_ids)
        clip = graph_edit.copy(self.flow, nodes, notes)
        if not clip["nodes"] and not clip["notes"]:
            ui.notify(_("Select nodes to copy first (the start node cannot be copied)."))
            return False
        boards = self.builder.clipboards
        boards.pop(self._clipboard_key(), None)
        boards[self._clipboard_key()] = clip
        while len(boards) > CLIPBOARDS:  # the browsers that copied longest ago forget
            del boards[next(iter(boards))]
        return True

    def paste(self, at: tuple[float, float] | None = None, clip: graph_edit.Clip | None = None) -> None:
        """Paste the clipboard (at the pointer when given, else beside the originals) and select it."""
        clip = clip if clip is not None else self.builder.clipboards.get(self._clipboard_key())
        if clip is None:
            ui.notify(_("Nothing to paste: select nodes and copy them first (Ctrl+C)."))
            return
        try:
            flow, node_ids, note_ids = graph_edit.paste(self.flow, clip, at=at)
        except Refused as exc:
            self._refuse(str(exc), redraw=False)
            return
        new_edges = flow.edges[len(self.flow.edges) :]
        count = len(node_ids) + len(note_ids)
        if not self._apply(flow, n_("paste {count} item", "paste {count} items", count)):
            return
        self.canvas.add_nodes(
            [
                *(self.card(n) for n in flow.nodes if n.id in node_ids),
                *(self.note_card(n) for n in flow.notes if n.id in note_ids),
            ]
        )
        self.canvas.add_edges([self.line(x) for x in new_edges])
        self.canvas.select([*node_ids, *(NOTE + i for i in note_ids)])

    def duplicate(self, canvas_ids: list[str]) -> None:
        """Copies of these nodes beside them (the clipboard is left as it was)."""
        nodes, notes = _split(canvas_ids)
        clip = graph_edit.copy(self.flow, nodes, notes)
        if not clip["nodes"] and not clip["notes"]:
            ui.notify(_("Select nodes to duplicate first (the start node cannot be duplicated)."))
            return
        self.paste(clip=clip)

    def _on_command(self, e: events.GenericEventArguments) -> None:
        name = e.args.get("name")
        nodes = [str(i) for i in e.args.get("nodes") or []]
        edges = [str(i) for i in e.args.get("edges") or []]
        at = e.args.get("at")
        if name == "undo":
            self.undo()
        elif name == "redo":
            self.redo()
        elif name == "copy":
            if self.copy(nodes):
                ui.notify(n_("Copied {count} item.", "Copied {count} items.", len(nodes)))
        elif name == "paste":
            self.paste(at=(float(at["x"]), float(at["y"])) if isinstance(at, dict) else None)
        elif name == "duplicate":
            self.duplicate(nodes)
        elif name == "delete":
            self.delete(nodes, edges)

    # selection and the side panel

    selected: str | None = None

    def _on_select(self, e: events.GenericEventArguments) -> None:
        self.selected_nodes = [str(i) for i in e.args.get("nodes") or []]
        self.selected_edges = [str(i) for i in e.args.get("edges") or []]
        if len(self.selected_nodes) == 1:
            if self.selected_nodes[0] != self.selected:
                self.show_settings(self.selected_nodes[0])
        elif self.selected_nodes:
            self.show_settings(None)
            with self.side:
                ui.label(
                    n_(
                        "{count} selected: copy, duplicate or delete them together.",
                        "{count} selected: copy, duplicate or delete them together.",
                        len(self.selected_nodes),
                    )
                ).mark("selection-count")
        else:
            self.show_settings(None)

    def show_settings(self, node_id: str | None) -> None:
        """Show the settings form of this node (or the text of this note) in the side panel, or empty it."""
        if self.unsaved:  # the form being closed held a value it could not save: say so, once
            left_out = " ".join(r for reasons in self.unsaved.values() for r in reasons)
            said = _("A change that could not be saved was left out: {reasons}", reasons=left_out)
            ui.notify(said, type="warning", multi_line=True)
            self.unsaved.clear()
            self._show_problems()
        self.selected = node_id
        self.exits_box = None
        self._fit_side(showing=node_id is not None)
        self.side.clear()
        self.side.props["data-settings-of"] = node_id or ""  # which step the panel shows (browser tests)
        self.side.update()
        if node_id is not None:
            self.side_tabs.set_value("settings")  # a step was chosen: its settings, even while chatting
        if node_id is not None and node_id.startswith(NOTE):
            self._show_note(node_id[len(NOTE) :])
            return
        node = self.flow.node(node_id) if node_id else None
        if node is None:
            self._nothing_selected()
            return
        spec = self.registry.get(node.type)
        with self.side:
            ui.label(_("Step settings")).classes("hidden").mark("selected-node")
            if spec is None:
                ui.label(
                    _("The node type {type} is not installed; its settings are kept as they are.", type=repr(node.type))
                )
                return
            try:
                values = spec.migrate(node.settings, node.version)
            except SettingsError as exc:
                ui.label(str(exc)).classes("text-negative")
                return
            self.form_base = dict(values)
            SettingsForm(
                spec,
                values,
                functools.partial(self._on_settings, node.id),
                variables=variable_names(self.flow),
                on_problems=functools.partial(self._on_unsaved, node.id),
            )
            self.exits_box = ui.column().classes("w-full gap-1 border-t pt-3 mt-2").mark("exits")
        self._show_exits(node)
        if self.just_added == node.id:
            self.just_added = None
            ui.run_javascript(FOCUS_FIRST_FIELD % json.dumps(node.id))

    def _show_exits(self, node: Node) -> None:
        """Where each of the step's exits leads, chosen from a list: connecting without dragging (and by
        keyboard). Choosing another step moves the connection; “nowhere” removes it."""
        box = self.exits_box
        if box is None:
            return
        outputs = graph_edit.ports(self.flow, node, self.registry)[1]
        leads = {e.source_port: e.target for e in self.flow.edges if e.source == node.id}
        # redrawn on every save (each keystroke in a field): only when what it lists changed, since
        # naming every other step reads all their settings
        shown = (node.id, tuple(outputs), tuple(leads.items()), tuple(n for n in self.flow.nodes if n.id != node.id))
        if shown == self.exits_shown and box.default_slot.children:
            return
        self.exits_shown = shown
        box.clear()
        if not outputs:
            return
        words = card_data(self.flow, node, self.registry, [], outputs)["labels"]
        targets = {"": _("— nowhere yet —")} | {
            n.id: self._step_name(n) for n in self._nearest(node, set(leads.values()))
        }
        with box:
            ui.label(_("Where it goes next")).classes("text-sm font-medium")
            for port in outputs:
                choice = (
                    ui.select(
                        targets,
                        label=_("Exit “{exit}” leads to", exit=words.get(port, port))
                        if len(outputs) > 1
                        else _("Next step"),
                        value=leads.get(port, ""),
                        with_input=True,
                    )
                    .props("dense outlined options-dense")
                    .classes("w-full")
                    .mark(f"exit-{port}")
                )
                choice.on_value_change(lambda e, p=port: self.lead(node.id, p, str(e.value or "")))

    def _nearest(self, node: Node, keep: set[str]) -> list[Node]:
        """The steps an exit of `node` can be led to from its list: all of them in a flow of up to
        EXIT_CHOICES steps; in a larger one the EXIT_CHOICES nearest on the canvas, and those it
        leads to now (a list of a thousand steps is no help, and slow to send)."""
        others = [n for n in self.flow.nodes if n.id not in (node.id, self.flow.start)]
        if len(others) <= EXIT_CHOICES:
            return others
        x, y = node.ui.get("x", 0), node.ui.get("y", 0)
        near = sorted(others, key=lambda n: abs(n.ui.get("x", 0) - x) + abs(n.ui.get("y", 0) - y))
        chosen = {n.id for n in near[:EXIT_CHOICES]} | keep
        return [n for n in others if n.id in chosen]

    def _step_name(self, node: Node) -> str:
        """A step as a person recognises it in a list: its title and the start of what it says."""
        spec = self.registry.get(node.type)
        data = card_data(self.flow, node, self.registry, [], [])
        text = data["text"].replace("\n", " ")
        said = f": {text[:40]}{'…' * (len(text) > 40)}" if text else ""
        return f"{_(spec.title) if spec else node.type}{said}"

    def lead(self, node_id: str, port: str, target: str) -> None:
        """Make this exit of this step lead to `target` ("" : nowhere), replacing where it led."""
        old = [e for e in self.flow.edges if e.source == node_id and e.source_port == port]
        if (old[0].target if old else "") == target:
            return
        flow = graph_edit.remove(self.flow, set(), {e.id for e in old})
        edge = None
        if target:
            spec = self.registry.get(self.flow.node(target).type)  # type: ignore[union-attr]
            target_port = spec.inputs[0] if spec and spec.inputs else "in"
            try:
                flow, edge = graph_edit.connect(
                    flow, self.registry, source=node_id, source_port=port, target=target, target_port=target_port
                )
            except Refused as exc:
                self._refuse(str(exc), redraw=False)
                return
        if not self._apply(flow, _("connect") if target else _("delete a connection")):
            return
        if old:
            self.canvas.remove_elements([], [e.id for e in old])
        if edge is not None:
            self.canvas.add_edges([self.line(edge)])

    def _show_note(self, note_id: str) -> None:
        note = next((n for n in self.flow.notes if n.id == note_id), None)
        if note is None:
            return
        with self.side:
            ui.label(_("Note")).classes("text-xs text-gray-500").mark("selected-node")
            area = (
                ui.textarea(_("Note"), value=note.text).props("outlined autogrow").classes("w-full").mark("note-text")
            )
            area.props(f"maxlength={graph_edit.NOTE_LIMIT}")
            area.on_value_change(lambda e: self._on_note(note_id, str(e.value or "")))

    def _on_note(self, note_id: str, text: str) -> None:
        try:
            flow = graph_edit.set_note_text(self.flow, note_id, text)
        except Refused as exc:
            self._refuse(str(exc), redraw=False)
            return
        if not self._apply(flow, _("edit a note"), key=f"note:{note_id}"):
            return
        note = next(n for n in self.flow.notes if n.id == note_id)
        self.canvas.update_node(self.note_card(note))

    def _on_unsaved(self, node_id: str, reasons: list[str]) -> None:
        """A form that could not be saved: its step is listed with the flow's problems until it is."""
        if reasons:
            self.unsaved[node_id] = reasons
        elif self.unsaved.pop(node_id, None) is None:
            return
        self._show_problems()

    def _on_settings(self, node_id: str, settings: dict[str, Any]) -> None:
        current = self.flow.node(node_id)
        if current is None:
            return  # deleted while its form was open
        # only the fields this person changed: another tab may have changed the others meanwhile
        merged, clashes = merge_fields(self.form_base, settings, current.settings, "mine")
        self._note_field_edits(current, [k for k in settings if settings.get(k) != self.form_base.get(k)])
        self.form_base = dict(settings)
        if not self._apply(
            graph_edit.set_settings(self.flow, node_id, merged),
            _("change settings"),
            key=f"settings:{node_id}",
            clashes=[f"“{self._step_name(current)}” ({c})" for c in clashes],
        ):
            return
        node = self.flow.node(node_id)
        assert node is not None
        self.canvas.update_node(self.card(node))

    # problems

    def problems(self) -> list[Problem]:
        """What validation finds in the draft now, errors first; first of all, a form not saved."""
        found = validate(self.flow, self.registry)
        unsaved = [
            Problem("not_saved", _("Not saved: {reason}", reason=reason), node_id=node_id)
            for node_id, reasons in self.unsaved.items()
            if self.flow.node(node_id) is not None
            for reason in reasons
        ]
        return unsaved + sorted(found, key=lambda p: p.severity != "error")

    def _show_problems(self) -> None:
        found = self.problems()
        edges = {e.id: e for e in self.flow.edges}
        marks: dict[str, str] = {}
        messages: dict[str, str] = {}
        for p in found:  # errors come first: a card's badge names its worst problem
            where = p.node_id or (edges[p.edge_id].source if p.edge_id in edges else None)
            if where is not None and where not in marks:
                marks[where], messages[where] = p.severity, p.message
        self.canvas.set_marks(marks, messages)
        self.problems_box.clear()
        with self.problems_box:
            errors = sum(p.severity == "error" for p in found)
            if not found:
                ui.label(_("No problems: the flow can be published.")).classes("text-green-800 text-sm").mark(
                    "problems-none"
                )
                return
            counted = _(
                "{errors}, {warnings}",
                errors=n_("{count} error (stop publishing)", "{count} errors (stop publishing)", errors),
                warnings=n_("{count} warning", "{count} warnings", len(found) - errors),
            )
            ui.label(counted).classes("text-sm font-medium").mark("problems-count")
            for p in found[:SHOWN_PROBLEMS]:
                where = p.node_id or (edges[p.edge_id].source if p.edge_id in edges else None)
                icon = "error" if p.severity == "error" else "warning"
                color = "text-negative" if p.severity == "error" else "text-warning"
                with ui.row().classes(
                    "w-full no-wrap items-start gap-1 cursor-pointer hover:bg-gray-100 rounded"
                ) as row:
                    ui.icon(icon).classes(color)
                    ui.label(self._in_words(p.message)).classes("text-xs")
                row.mark(f"problem-{where or 'flow'}")
                if where is not None:
                    row.on("click", lambda _, w=where: self.focus(w))
            if len(found) > SHOWN_PROBLEMS:
                more = len(found) - SHOWN_PROBLEMS
                ui.label(n_("… and {count} more.", "… and {count} more.", more)).classes("text-xs")

    def _in_words(self, message: str) -> str:
        """A problem as a person reads it: steps named by their title and what they say, not by the ids
        the flow file uses (“Node 'send-1' leads nowhere” → “Send message: Hi!…” leads nowhere)."""

        def named(found: re.Match[str]) -> str:
            node = self.flow.node(found["id"])
            return f"“{self._step_name(node)}”" if node is not None else found[0]

        return NODE_ID.sub(named, message)

    def focus(self, node_id: str) -> None:
        """Bring this node into view, select it and show its settings."""
        if self.flow.node(node_id) is None:
            return
        self.canvas.focus(node_id)
        self.selected_nodes = [node_id]
        self.show_settings(node_id)

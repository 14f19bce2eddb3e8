"""The flow editor: a flow's draft on the canvas, a palette of node types, the selected node's
settings, the flow's problems, and a test chat.

Every edit is saved to the draft at once and can be undone; an edit the flow cannot take is
refused in words and undone on the canvas.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from itertools import groupby
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from nicegui import app, events, ui

from builder import graph_edit
from builder.access import Visitor, account_menu, enter
from builder.canvas import CanvasEdge, CanvasNode, FlowCanvas, VisibleOnly, bundle_missing
from builder.chat_panel import ChatPanel
from builder.context import Builder
from builder.forms import SettingsForm
from builder.graph_edit import Refused
from builder.history import Entry, History
from flows.models import Edge, Flow, Node, Note
from flows.problems import Problem
from flows.store import FlowNotFound
from flows.validate import validate
from nodes.api import SettingsError

log = logging.getLogger(__name__)
NEW_NODE_GAP = 240  # where a double-clicked palette entry lands: right of the right-most node
# flows with more nodes open drawing only what is in view, and draw the rest once connected ...
VISIBLE_FIRST_FROM = 150
# ... and flows with more than this keep drawing only what is in view (panning is slower, but the
# page stays responsive); figures from `python -m benchmarks` in the README
VISIBLE_ALWAYS_FROM = 500
NOTE = "note:"  # canvas ids of notes; a flow id cannot contain ":", so they never meet a node's
CLIPBOARDS = 100  # browsers whose last copy is kept
SHOWN_PROBLEMS = 50  # the problems list names this many, then counts the rest


def register(builder: Builder) -> None:
    @ui.page("/flows/{flow_id}")
    def editor(flow_id: str, request: Request) -> Response | None:
        who = enter(builder, request)
        if isinstance(who, Response):
            return who
        try:
            flow = builder.flows.draft(flow_id)
        except FlowNotFound:
            ui.label(f"There is no flow “{flow_id}”.")
            ui.link("Back to the flows", "/")
            return None
        Editor(builder, flow, who)
        return None


def _drawing(count: int) -> VisibleOnly:
    if count > VISIBLE_ALWAYS_FROM:
        return "always"
    return "first" if count > VISIBLE_FIRST_FROM else "never"


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
        if bundle_missing():
            log.error("canvas bundle missing; run `make` to build builder/canvas/dist")
            ui.label("The canvas was not built: run `make run` (it builds it with npm).").classes("text-negative")
        with ui.row().classes("w-full items-center gap-2"):
            ui.link("← Flows", "/")
            ui.label(flow.name).classes("text-xl font-medium").mark("flow-name")
            ui.space()
            self._toolbar()
            ui.space()
            ui.link("Versions and publishing", f"/flows/{flow.id}/versions").mark("versions")
            if who.can("flows.edit"):
                ui.button("Test chat", icon="chat", on_click=self._toggle_chat).props("outline").mark("test-chat")
            else:
                ui.label("Read only").classes("text-gray-500").mark("read-only")
            account_menu(who)
        self.chat_drawer = ui.right_drawer(value=False).props("width=380 bordered")
        with ui.row().classes("w-full no-wrap gap-2").style("height: calc(100vh - 90px)"):
            if who.can("flows.edit"):
                self._palette()
            self.canvas = FlowCanvas(
                self._cards(), [self.line(e) for e in flow.edges], visible_only=_drawing(len(flow.nodes))
            ).classes("grow h-full border rounded")
            self.canvas.on("connect", self._on_connect)
            self.canvas.on("move", self._on_move)
            self.canvas.on("remove", self._on_remove)
            self.canvas.on("select", self._on_select)
            self.canvas.on("drop", self._on_drop)
            self.canvas.on("command", self._on_command)
            with ui.column().classes("h-full no-wrap gap-2").style("width: 20rem; flex: none; overflow-x: hidden"):
                self.side = ui.column().classes("w-full grow overflow-auto").mark("settings")
                self.problems_box = ui.column().classes("w-full max-h-72 shrink-0 overflow-auto gap-1 border-t pt-2")
                self.problems_box.mark("problems")
        self._show_problems()
        self._update_buttons()

    def _toolbar(self) -> None:
        def button(icon: str, tip: str, marker: str, action: Callable[[], Any]) -> ui.button:
            named = ui.button(icon=icon, on_click=action).props("flat dense").tooltip(tip).mark(marker)
            named.props["aria-label"] = tip  # what a screen reader (and a browser test) calls it
            return named

        with ui.row().classes("gap-0 items-center"):
            if not self.who.can("flows.edit"):
                self.undo_button = self.redo_button = None
                button("fit_screen", "Show the whole flow", "fit", self.canvas_fit)
                return
            self.undo_button = button("undo", "Undo (Ctrl+Z)", "undo", self.undo)
            self.redo_button = button("redo", "Redo (Ctrl+Shift+Z)", "redo", self.redo)
            ui.separator().props("vertical")
            button("content_copy", "Copy the selected nodes (Ctrl+C)", "copy", lambda: self.canvas.command("copy"))
            button("content_paste", "Paste (Ctrl+V)", "paste", lambda: self.canvas.command("paste"))
            button("library_add", "Duplicate the selected nodes (Ctrl+D)", "duplicate",
                   lambda: self.canvas.command("duplicate"))  # fmt: skip
            button("delete", "Delete the selection (Delete)", "delete", lambda: self.canvas.command("delete"))
            ui.separator().props("vertical")
            button("sticky_note_2", "Add a note", "add-note", self.add_note)
            button("account_tree", "Arrange the flow from left to right", "layout", self.auto_layout)
            button("fit_screen", "Show the whole flow", "fit", self.canvas_fit)

    def canvas_fit(self) -> None:
        self.canvas.fit()

    def _toggle_chat(self) -> None:
        """Open the test chat on the current draft (made on first use: it runs its own runtime)."""
        if not self.who.may("flows.edit"):
            return
        if self.chat is None:
            with self.chat_drawer:
                self.chat = ChatPanel(self.builder, self.flow.id, on_node=self.canvas.highlight)
        self.chat_drawer.toggle()

    # what the canvas shows

    def _cards(self) -> list[CanvasNode]:
        return [*(self.card(n) for n in self.flow.nodes), *(self.note_card(n) for n in self.flow.notes)]

    def card(self, node: Node) -> CanvasNode:
        """A node as the canvas draws it: type title, one-line summary, its ports."""
        inputs, outputs = graph_edit.ports(self.flow, node, self.registry)
        spec = self.registry.get(node.type)
        summary = ""
        if spec is None:
            title = f"{node.type} (not installed)"
        else:
            title = spec.title
            if spec.summary is not None:
                try:
                    summary = spec.summary(spec.parse(node.settings, node.version))
                except SettingsError:
                    summary = "settings to fix"
        return {
            "id": node.id,
            "type": "card",
            "position": {"x": node.ui.get("x", 0), "y": node.ui.get("y", 0)},
            "data": {"title": title, "summary": summary, "inputs": inputs, "outputs": outputs},
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
        with ui.column().classes("w-56 shrink-0 h-full overflow-auto no-wrap gap-1").mark("palette"):
            search = ui.input(placeholder="Search steps").props("dense outlined clearable").classes("w-full")
            search.mark("palette-search")
            entries: list[tuple[str, ui.label]] = []
            headers: dict[str, tuple[ui.label, list[ui.label]]] = {}
            for category, specs in groupby(self.registry, key=lambda s: s.category):
                header = ui.label(category.capitalize()).classes("text-xs uppercase text-gray-500 mt-2")
                header.mark(f"category-{category}")
                headers[category] = (header, [])
                for spec in specs:
                    item = ui.label(spec.title).classes("cursor-grab border rounded px-2 py-1 bg-white")
                    item.props(f'draggable="true" data-node-type="{spec.type}"').mark(f"palette-{spec.type}")
                    item.on(
                        "dragstart",
                        js_handler=f"(e) => e.dataTransfer.setData('application/x-chatloom-node', '{spec.type}')",
                    )
                    item.on("dblclick", lambda _, t=spec.type: self.add_node(t, *self._next_free_spot()))
                    if spec.description:
                        item.tooltip(spec.description)
                    words = f"{spec.title} {spec.type} {spec.category} {spec.description}".casefold()
                    entries.append((words, item))
                    headers[category][1].append(item)

            def filter_palette(e: events.ValueChangeEventArguments) -> None:
                wanted = str(e.value or "").casefold().split()
                for words, item in entries:
                    item.set_visibility(all(w in words for w in wanted))
                for header, items in headers.values():
                    header.set_visibility(any(i.visible for i in items))

            search.on_value_change(filter_palette)

    def _next_free_spot(self) -> tuple[float, float]:
        xs = [float(n.ui.get("x", 0)) for n in self.flow.nodes]
        return (max(xs) + NEW_NODE_GAP if xs else 0.0), 0.0

    # every edit goes through here: it can be undone, is saved, and the problems are checked again

    def _apply(self, flow: Flow, label: str, key: str | None = None) -> bool:
        if not self._may_edit():
            return False
        self.history.record(self.flow, label, key)
        self._save(flow)
        return True

    def _may_edit(self) -> bool:
        """The visitor may still change this draft; if not, the canvas goes back to what is saved."""
        if self.who.may("flows.edit"):
            return True
        self._redraw()
        return False

    def _save(self, flow: Flow) -> None:
        self.builder.flows.save_draft(flow)
        self.flow = flow
        self._show_problems()
        self._update_buttons()

    def _refuse(self, reason: str, redraw: bool = True) -> None:
        log.info("canvas edit refused in flow %s: %s", self.flow.id, reason)
        ui.notify(reason, type="warning")
        if redraw:
            self._redraw()

    def _update_buttons(self) -> None:
        if self.undo_button is None or self.redo_button is None:
            return
        for button, entries, verb in ((self.undo_button, self.history.undos, "Undo"),
                                      (self.redo_button, self.history.redos, "Redo")):  # fmt: skip
            button.set_enabled(bool(entries))
            button.props["aria-label"] = f"{verb} {entries[-1].label}" if entries else verb

    def undo(self) -> None:
        """Go back to the draft before the last edit."""
        self._travel(self.history.undo(self.flow), "Nothing to undo.")

    def redo(self) -> None:
        """Make the last undone edit again."""
        self._travel(self.history.redo(self.flow), "Nothing to redo.")

    def _travel(self, entry: Entry | None, nothing: str) -> None:
        if not self._may_edit():
            return
        if entry is None:
            ui.notify(nothing)
            return
        self._save(entry.flow)
        self._redraw()
        self.show_settings(self.selected_nodes[0] if len(self.selected_nodes) == 1 else None)

    def add_node(self, type_name: str, x: float, y: float) -> None:
        """Add a node of this type at (x, y) and show it."""
        spec = self.registry.get(type_name)
        if spec is None:
            self._refuse(f"The node type {type_name!r} is not installed.", redraw=False)
            return
        flow, node = graph_edit.add_node(self.flow, spec, x, y)
        if not self._apply(flow, f"add {spec.title}"):
            return
        self.canvas.add_nodes([self.card(node)])

    def add_note(self) -> None:
        """Add an empty sticky note right of the flow, selected so it can be written at once."""
        flow, note = graph_edit.add_note(self.flow, *self._next_free_spot())
        if not self._apply(flow, "add a note"):
            return
        self.canvas.add_nodes([self.note_card(note)])
        self.canvas.select([NOTE + note.id])

    def auto_layout(self) -> None:
        """Arrange the nodes left to right in the order a conversation meets them."""
        if not self._apply(graph_edit.auto_layout(self.flow, self.registry), "arrange the flow"):
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
        if not self._apply(flow, "connect"):
            return
        self.canvas.add_edges([self.line(edge)])

    def _on_move(self, e: events.GenericEventArguments) -> None:
        try:
            moved = {str(n["id"]): (float(n["x"]), float(n["y"])) for n in e.args.get("nodes", [])}
            nodes = {k: v for k, v in moved.items() if not k.startswith(NOTE)}
            notes = {k[len(NOTE) :]: v for k, v in moved.items() if k.startswith(NOTE)}
            count = len(moved)
            self._apply(
                graph_edit.move(self.flow, nodes, notes), "move a node" if count == 1 else f"move {count} nodes"
            )
        except (Refused, KeyError, TypeError, ValueError) as exc:
            self._refuse(str(exc) if isinstance(exc, Refused) else "That move could not be saved.")

    def _on_remove(self, e: events.GenericEventArguments) -> None:
        self.delete([str(i) for i in e.args.get("nodes", [])], [str(i) for i in e.args.get("edges", [])])

    def delete(self, canvas_ids: list[str], edge_ids: list[str]) -> None:
        """Delete these nodes and notes (with their connections) and these connections."""
        nodes, notes = _split(canvas_ids)
        if not (nodes or notes or edge_ids):
            ui.notify("Select what to delete first.")
            return
        try:
            flow = graph_edit.remove(self.flow, nodes, set(edge_ids), notes)
        except Refused as exc:
            self._refuse(str(exc))
            return
        kept = {x.id for x in flow.edges}
        gone_edges = [x.id for x in self.flow.edges if x.id not in kept]
        count = len(nodes) + len(notes)
        if not self._apply(flow, f"delete {count} item{'s' * (count != 1)}" if count else "delete a connection"):
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
            ui.notify("Select nodes to copy first (the start node cannot be copied).")
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
            ui.notify("Nothing to paste: select nodes and copy them first (Ctrl+C).")
            return
        try:
            flow, node_ids, note_ids = graph_edit.paste(self.flow, clip, at=at)
        except Refused as exc:
            self._refuse(str(exc), redraw=False)
            return
        new_edges = flow.edges[len(self.flow.edges) :]
        count = len(node_ids) + len(note_ids)
        if not self._apply(flow, f"paste {count} item{'s' * (count != 1)}"):
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
            ui.notify("Select nodes to duplicate first (the start node cannot be duplicated).")
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
                ui.notify(f"Copied {len(nodes)} item{'s' * (len(nodes) != 1)}.")
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
                ui.label(f"{len(self.selected_nodes)} selected: copy, duplicate or delete them together.").mark(
                    "selection-count"
                )
        else:
            self.show_settings(None)

    def show_settings(self, node_id: str | None) -> None:
        """Show the settings form of this node (or the text of this note) in the side panel, or empty it."""
        self.selected = node_id
        self.side.clear()
        if node_id is not None and node_id.startswith(NOTE):
            self._show_note(node_id[len(NOTE) :])
            return
        node = self.flow.node(node_id) if node_id else None
        if node is None:
            return
        spec = self.registry.get(node.type)
        with self.side:
            ui.label(node.id).classes("text-xs text-gray-500").mark("selected-node")
            if spec is None:
                ui.label(f"The node type {node.type!r} is not installed; its settings are kept as they are.")
                return
            try:
                values = spec.migrate(node.settings, node.version)
            except SettingsError as exc:
                ui.label(str(exc)).classes("text-negative")
                return
            SettingsForm(
                spec, values, functools.partial(self._on_settings, node.id), variables=variable_names(self.flow)
            )

    def _show_note(self, note_id: str) -> None:
        note = next((n for n in self.flow.notes if n.id == note_id), None)
        if note is None:
            return
        with self.side:
            ui.label("Note").classes("text-xs text-gray-500").mark("selected-node")
            area = ui.textarea("Note", value=note.text).props("outlined autogrow").classes("w-full").mark("note-text")
            area.props(f"maxlength={graph_edit.NOTE_LIMIT}")
            area.on_value_change(lambda e: self._on_note(note_id, str(e.value or "")))

    def _on_note(self, note_id: str, text: str) -> None:
        try:
            flow = graph_edit.set_note_text(self.flow, note_id, text)
        except Refused as exc:
            self._refuse(str(exc), redraw=False)
            return
        if not self._apply(flow, "edit a note", key=f"note:{note_id}"):
            return
        note = next(n for n in self.flow.notes if n.id == note_id)
        self.canvas.update_node(self.note_card(note))

    def _on_settings(self, node_id: str, settings: dict[str, Any]) -> None:
        if self.flow.node(node_id) is None:
            return  # deleted while its form was open
        if not self._apply(
            graph_edit.set_settings(self.flow, node_id, settings), "change settings", key=f"settings:{node_id}"
        ):
            return
        node = self.flow.node(node_id)
        assert node is not None
        self.canvas.update_node(self.card(node))

    # problems

    def problems(self) -> list[Problem]:
        """What validation finds in the draft now, errors first."""
        found = validate(self.flow, self.registry)
        return sorted(found, key=lambda p: p.severity != "error")

    def _show_problems(self) -> None:
        found = self.problems()
        edges = {e.id: e for e in self.flow.edges}
        marks: dict[str, str] = {}
        for p in found:
            where = p.node_id or (edges[p.edge_id].source if p.edge_id in edges else None)
            if where is not None and marks.get(where) != "error":
                marks[where] = p.severity
        self.canvas.set_marks(marks)
        self.problems_box.clear()
        with self.problems_box:
            errors = sum(p.severity == "error" for p in found)
            if not found:
                ui.label("No problems: the flow can be published.").classes("text-positive text-sm").mark(
                    "problems-none"
                )
                return
            ui.label(
                f"{errors} error{'s' * (errors != 1)} (stop publishing), "
                f"{len(found) - errors} warning{'s' * (len(found) - errors != 1)}"
            ).classes("text-sm font-medium").mark("problems-count")
            for p in found[:SHOWN_PROBLEMS]:
                where = p.node_id or (edges[p.edge_id].source if p.edge_id in edges else None)
                icon = "error" if p.severity == "error" else "warning"
                color = "text-negative" if p.severity == "error" else "text-warning"
                with ui.row().classes(
                    "w-full no-wrap items-start gap-1 cursor-pointer hover:bg-gray-100 rounded"
                ) as row:
                    ui.icon(icon).classes(color)
                    ui.label(p.message).classes("text-xs")
                row.mark(f"problem-{where or 'flow'}")
                if where is not None:
                    row.on("click", lambda _, w=where: self.focus(w))
            if len(found) > SHOWN_PROBLEMS:
                ui.label(f"… and {len(found) - SHOWN_PROBLEMS} more.").classes("text-xs")

    def focus(self, node_id: str) -> None:
        """Bring this node into view, select it and show its settings."""
        if self.flow.node(node_id) is None:
            return
        self.canvas.focus(node_id)
        self.selected_nodes = [node_id]
        self.show_settings(node_id)

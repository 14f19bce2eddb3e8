"""The flow editor: a flow's draft on the canvas, a palette of node types, and the selected node's settings.

Every edit is saved to the draft at once; an edit the flow cannot take is refused in words and
undone on the canvas.
"""

from __future__ import annotations

import functools
import logging
from itertools import groupby
from typing import Any

from nicegui import events, ui

from builder import graph_edit
from builder.canvas import CanvasEdge, CanvasNode, FlowCanvas, bundle_missing
from builder.chat_panel import ChatPanel
from builder.context import Builder
from builder.forms import SettingsForm
from builder.graph_edit import Refused
from flows.models import Edge, Flow, Node
from flows.store import FlowNotFound
from nodes.api import SettingsError

log = logging.getLogger(__name__)
NEW_NODE_GAP = 240  # where a double-clicked palette entry lands: right of the right-most node


def register(builder: Builder) -> None:
    @ui.page("/flows/{flow_id}")
    def editor(flow_id: str) -> None:
        try:
            flow = builder.flows.draft(flow_id)
        except FlowNotFound:
            ui.label(f"There is no flow “{flow_id}”.")
            ui.link("Back to the flows", "/")
            return
        Editor(builder, flow)


class Editor:
    """One browser tab's editor of one flow."""

    def __init__(self, builder: Builder, flow: Flow) -> None:
        self.builder, self.flow = builder, flow
        self.registry = builder.registry
        if bundle_missing():
            log.error("canvas bundle missing; run `make` to build builder/canvas/dist")
            ui.label("The canvas was not built: run `make run` (it builds it with npm).").classes("text-negative")
        with ui.row().classes("w-full items-center gap-3"):
            ui.link("← Flows", "/")
            ui.label(flow.name).classes("text-xl font-medium").mark("flow-name")
            ui.space()
            ui.link("Versions and publishing", f"/flows/{flow.id}/versions").mark("versions")
            ui.button("Test chat", icon="chat", on_click=self._toggle_chat).props("outline").mark("test-chat")
        self.chat_drawer = ui.right_drawer(value=False).props("width=380 bordered")
        self.chat: ChatPanel | None = None
        with ui.row().classes("w-full no-wrap gap-2").style("height: calc(100vh - 90px)"):
            self._palette()
            self.canvas = FlowCanvas([self.card(n) for n in flow.nodes], [self.line(e) for e in flow.edges]).classes(
                "grow h-full border rounded"
            )
            self.canvas.on("connect", self._on_connect)
            self.canvas.on("move", self._on_move)
            self.canvas.on("remove", self._on_remove)
            self.canvas.on("select", self._on_select)
            self.canvas.on("drop", self._on_drop)
            self.side = ui.column().classes("w-80 h-full overflow-auto").mark("settings")

    def _toggle_chat(self) -> None:
        """Open the test chat on the current draft (made on first use: it runs its own runtime)."""
        if self.chat is None:
            with self.chat_drawer:
                self.chat = ChatPanel(self.builder, self.flow.id)
        self.chat_drawer.toggle()

    # what the canvas shows

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
    def line(edge: Edge) -> CanvasEdge:
        """An edge as the canvas draws it."""
        return {
            "id": edge.id,
            "source": edge.source,
            "sourceHandle": edge.source_port,
            "target": edge.target,
            "targetHandle": edge.target_port,
        }

    def _palette(self) -> None:
        with ui.column().classes("w-56 h-full overflow-auto gap-1").mark("palette"):
            for category, specs in groupby(self.registry, key=lambda s: s.category):
                ui.label(category.capitalize()).classes("text-xs uppercase text-gray-500 mt-2").mark(
                    f"category-{category}"
                )
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

    def _next_free_spot(self) -> tuple[float, float]:
        xs = [float(n.ui.get("x", 0)) for n in self.flow.nodes]
        return (max(xs) + NEW_NODE_GAP if xs else 0.0), 0.0

    # edits

    def _save(self, flow: Flow) -> None:
        self.builder.flows.save_draft(flow)
        self.flow = flow

    def _refuse(self, reason: str) -> None:
        log.info("canvas edit refused in flow %s: %s", self.flow.id, reason)
        ui.notify(reason, type="warning")
        self.canvas.set_graph([self.card(n) for n in self.flow.nodes], [self.line(e) for e in self.flow.edges])

    def add_node(self, type_name: str, x: float, y: float) -> None:
        """Add a node of this type at (x, y) and show it."""
        spec = self.registry.get(type_name)
        if spec is None:
            self._refuse(f"The node type {type_name!r} is not installed.")
            return
        flow, node = graph_edit.add_node(self.flow, spec, x, y)
        self._save(flow)
        self.canvas.add_nodes([self.card(node)])

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
            ui.notify(str(exc), type="warning")  # nothing was drawn, so nothing to undo
            return
        self._save(flow)
        self.canvas.add_edges([self.line(edge)])

    def _on_move(self, e: events.GenericEventArguments) -> None:
        try:
            positions = {str(n["id"]): (float(n["x"]), float(n["y"])) for n in e.args.get("nodes", [])}
            self._save(graph_edit.move(self.flow, positions))
        except Refused as exc:
            self._refuse(str(exc))

    def _on_remove(self, e: events.GenericEventArguments) -> None:
        nodes, edges = set(e.args.get("nodes", [])), set(e.args.get("edges", []))
        try:
            flow = graph_edit.remove(self.flow, nodes, edges)
        except Refused as exc:
            self._refuse(str(exc))
            return
        gone_edges = [x.id for x in self.flow.edges if x.id not in {y.id for y in flow.edges}]
        self._save(flow)
        self.canvas.remove_elements(sorted(nodes), gone_edges)
        if self.selected in nodes:
            self.show_settings(None)

    selected: str | None = None

    def _on_select(self, e: events.GenericEventArguments) -> None:
        self.show_settings(e.args.get("node"))

    def show_settings(self, node_id: str | None) -> None:
        """Show the settings form of this node in the side panel (or empty it)."""
        self.selected = node_id
        self.side.clear()
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
            SettingsForm(spec, values, functools.partial(self._on_settings, node.id))

    def _on_settings(self, node_id: str, settings: dict[str, Any]) -> None:
        if self.flow.node(node_id) is None:
            return  # deleted while its form was open
        self._save(graph_edit.set_settings(self.flow, node_id, settings))
        node = self.flow.node(node_id)
        assert node is not None
        self.canvas.update_node(self.card(node))

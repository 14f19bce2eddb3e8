"""The flow canvas element: Vue Flow in the browser, the authoritative graph in Python.

The browser reports edits as events whose `e.args` are small plain dicts:
`connect` {source, source_port, target, target_port}, `move` {nodes: [{id, x, y}]} (on drag stop),
`remove` {nodes: [ids], edges: [ids]}, `select` {nodes: [ids], edges: [ids]} (the whole selection,
when it changes), `drop` {type, x, y} (from the palette) and `command` {name, at: {x, y} or None,
nodes, edges} for the keyboard shortcuts (undo, redo, copy, paste, duplicate) with the selection.
Nothing is drawn or removed until Python answers with `add_nodes`, `add_edges` or
`remove_elements`; to refuse a change Python does nothing, or calls `set_graph` to undo it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nicegui import ui

from builder.i18n import _

BUNDLE = Path(__file__).parent / "canvas" / "dist" / "index.js"
TAILWIND = BUNDLE.with_name("tailwind.css")  # the builder's styles, compiled with the bundle
CanvasNode = dict[str, Any]  # Vue Flow's {id, type, position: {x, y}, data}
CanvasEdge = dict[str, Any]  # Vue Flow's {id, source, sourceHandle, target, targetHandle}


class FlowCanvas(ui.element, component="canvas/src/flow_canvas.js", esm={"chatloom-canvas": "canvas/dist"}):
    """A Vue Flow canvas showing `nodes` and `edges`; edits come back as events."""

    def __init__(self, nodes: list[CanvasNode], edges: list[CanvasEdge], *, visible_only: bool = False) -> None:
        """:param nodes: the initial nodes, :param edges: the initial edges (both sent with the page),
        :param visible_only: draw only the cards in and around the view, and those joined to them
            (a large flow: it opens and pans as fast as a small one; builder/canvas/src/culling.js)."""
        super().__init__()
        self._props["nodes"], self._props["edges"] = nodes, edges
        self._props["visibleOnly"] = visible_only
        self._props["words"] = words()

    # The props are kept current without self.update(): a resend would re-create the canvas and lose
    # the user's viewport. Each method sends the browser only the change.

    def add_nodes(self, nodes: list[CanvasNode]) -> None:
        """Show new nodes."""
        self._props["nodes"].extend(nodes)
        self.run_method("addNodes", nodes)

    def add_edges(self, edges: list[CanvasEdge]) -> None:
        """Show new edges."""
        self._props["edges"].extend(edges)
        self.run_method("addEdges", edges)

    def remove_elements(self, nodes: list[str], edges: list[str]) -> None:
        """Stop showing these nodes and edges."""
        self._props["nodes"] = [n for n in self._props["nodes"] if n["id"] not in nodes]
        self._props["edges"] = [e for e in self._props["edges"] if e["id"] not in edges]
        self.run_method("removeElements", nodes, edges)

    def update_node(self, node: CanvasNode) -> None:
        """Show a node's new title, summary or ports."""
        self._props["nodes"] = [node if n["id"] == node["id"] else n for n in self._props["nodes"]]
        self.run_method("updateNodeData", node["id"], node["data"])

    def set_graph(self, nodes: list[CanvasNode], edges: list[CanvasEdge]) -> None:
        """Show exactly this graph (undoes whatever the browser changed on its own)."""
        self._props["nodes"], self._props["edges"] = nodes, edges
        self.run_method("setGraph", nodes, edges)

    def set_marks(self, marks: dict[str, str], messages: dict[str, str] | None = None) -> None:
        """Mark nodes with a problem: node id → "error" or "warning"; nodes not named are unmarked.
        `messages`: node id → the problem in words, shown when the pointer rests on the card's badge."""
        self.run_method("setMarks", marks, messages or {})

    def highlight(self, node_id: str | None) -> None:
        """Show which node is running in the test chat (None: none)."""
        self.run_method("highlight", node_id)

    def select(self, ids: list[str]) -> None:
        """Select exactly these nodes."""
        self.run_method("selectNodes", ids)

    def reveal(self, node_id: str) -> None:
        """Bring this node into view if it is out of it, keeping the zoom."""
        self.run_method("reveal", node_id)

    def focus(self, node_id: str) -> None:
        """Select this node and bring it into the middle of the view."""
        self.run_method("focusNode", node_id)

    def fit(self) -> None:
        """Zoom and pan so the whole flow is in view."""
        self.run_method("fit")

    def command(self, name: str) -> None:
        """Run a toolbar command as its keyboard shortcut would: the browser adds the selection."""
        self.run_method("command", name)


def words() -> dict[str, str]:
    """What the canvas itself says (a card's badge, a note's placeholder, the zoom buttons' names), in
    the builder's language."""
    return {
        "error": _("Has an error"),
        "warning": _("Has a warning"),
        "connect": _("Drag to connect the next step"),
        "saves": _("Saves to"),
        "note": _("Empty note: select it to write"),
        "zoomin": _("Zoom in"),
        "zoomout": _("Zoom out"),
        "fitview": _("Show the whole flow"),
        "interactive": _("Lock or unlock the canvas"),
        "map": _("The whole flow: click or drag to move the view there"),
    }


def bundle_missing() -> bool:
    """True when the canvas bundle or the styles were not built (`make` builds them with npm)."""
    return not (BUNDLE.exists() and TAILWIND.exists())

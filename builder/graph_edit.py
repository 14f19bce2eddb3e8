"""Edits the canvas makes to a flow draft: each returns a new Flow, or raises Refused with a sentence.

The draft is the authoritative graph; the browser only proposes changes, and undoes a refused one.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from typing import Any

from builder.cards import card_data
from builder.i18n import _
from flows.models import Edge, Flow, Node, Note
from nodes.api import NodeType
from nodes.registry import Registry


class Refused(ValueError):
    """A change the canvas proposed that the flow cannot take; the message is for the user."""


def _need(flow: Flow, node_id: str) -> Node:
    node = flow.node(node_id)
    if node is None:
        raise Refused(_("There is no node {node} in this flow.", node=repr(node_id)))
    return node


def ports(flow: Flow, node: Node, registry: Registry) -> tuple[list[str], list[str]]:
    """The node's input and output ports; an uninstalled type keeps the ports its edges use."""
    spec = registry.get(node.type)
    if spec is None:
        inputs = sorted({e.target_port for e in flow.edges if e.target == node.id})
        return inputs, sorted({e.source_port for e in flow.edges if e.source == node.id})
    return list(spec.inputs), spec.ports_for(node.settings, node.version)


def _free(taken: set[str], base: str) -> str:
    n = 1
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def add_node(flow: Flow, spec: NodeType, x: float, y: float) -> tuple[Flow, Node]:
    """A new node of this type at (x, y), with an id not yet used in the flow."""
    node_id = _free({n.id for n in flow.nodes}, spec.type.rsplit(".", 1)[-1])
    node = Node(id=node_id, type=spec.type, version=spec.version, ui={"x": round(x), "y": round(y)})
    return flow.model_copy(update={"nodes": [*flow.nodes, node]}), node


def connect(
    flow: Flow, registry: Registry, *, source: str, source_port: str, target: str, target_port: str
) -> tuple[Flow, Edge]:
    """A new edge from an output port to an input port; refused for unknown ports, self-loops and fan-out."""
    if source == target:
        raise Refused(_("A node cannot lead to itself; add a step in between."))
    src, dst = _need(flow, source), _need(flow, target)
    spec_src, spec_dst = registry.get(src.type), registry.get(dst.type)
    if spec_src is not None and source_port not in ports(flow, src, registry)[1]:
        raise Refused(_("Node {node} has no output {port}.", node=repr(source), port=repr(source_port)))
    if spec_dst is not None and target_port not in spec_dst.inputs:
        raise Refused(_("Node {node} has no input {port}.", node=repr(target), port=repr(target_port)))
    if any(e.source == source and e.source_port == source_port for e in flow.edges):
        raise Refused(
            _(
                "The output {port} of node {node} is already connected; the bot can only go one way.",
                port=repr(source_port),
                node=repr(source),
            )
        )
    edge = Edge(
        id=_free({e.id for e in flow.edges}, "e"),
        source=source,
        source_port=source_port,
        target=target,
        target_port=target_port,
    )
    return flow.model_copy(update={"edges": [*flow.edges, edge]}), edge


def _placed(item: Any, at: tuple[float, float]) -> Any:
    return item.model_copy(update={"ui": {**item.ui, "x": round(at[0]), "y": round(at[1])}})


def _shifted(item: Any, dx: float, dy: float, new_id: str) -> Any:
    moved = _placed(item, (float(item.ui.get("x", 0)) + dx, float(item.ui.get("y", 0)) + dy))
    return moved.model_copy(update={"id": new_id})


def move(
    flow: Flow, positions: dict[str, tuple[float, float]], notes: dict[str, tuple[float, float]] | None = None
) -> Flow:
    """The nodes (and notes) placed at new canvas positions (the runtime never reads them)."""
    notes = notes or {}
    for node_id in positions:
        _need(flow, node_id)
    for note_id in notes:
        _need_note(flow, note_id)
    return flow.model_copy(
        update={
            "nodes": [_placed(n, positions[n.id]) if n.id in positions else n for n in flow.nodes],
            "notes": [_placed(n, notes[n.id]) if n.id in notes else n for n in flow.notes],
        }
    )


def remove(flow: Flow, node_ids: set[str], edge_ids: set[str], note_ids: frozenset[str] = frozenset()) -> Flow:
    """The flow without these nodes, their edges, these edges and these notes; the start node stays."""
    if flow.start in node_ids:
        raise Refused(_("The start node cannot be deleted: the conversation begins there."))
    nodes = [n for n in flow.nodes if n.id not in node_ids]
    edges = [e for e in flow.edges if e.id not in edge_ids and e.source not in node_ids and e.target not in node_ids]
    notes = [n for n in flow.notes if n.id not in note_ids]
    return flow.model_copy(update={"nodes": nodes, "edges": edges, "notes": notes})


# notes


def _need_note(flow: Flow, note_id: str) -> Note:
    note = next((n for n in flow.notes if n.id == note_id), None)
    if note is None:
        raise Refused(_("There is no note {note} in this flow.", note=repr(note_id)))
    return note


def add_note(flow: Flow, x: float, y: float, text: str = "") -> tuple[Flow, Note]:
    """A new sticky note at (x, y)."""
    note = Note(id=_free({n.id for n in flow.notes}, "note"), text=text, ui={"x": round(x), "y": round(y)})
    return flow.model_copy(update={"notes": [*flow.notes, note]}), note


def set_note_text(flow: Flow, note_id: str, text: str) -> Flow:
    """The note with new words (at most 5,000 characters)."""
    _need_note(flow, note_id)
    if len(text) > NOTE_LIMIT:
        raise Refused(
            _(
                "A note holds at most {limit} characters; this one has {length}.",
                limit=f"{NOTE_LIMIT:,}",
                length=f"{len(text):,}",
            )
        )
    notes = [n.model_copy(update={"text": text}) if n.id == note_id else n for n in flow.notes]
    return flow.model_copy(update={"notes": notes})


NOTE_LIMIT = 5000


# copy and paste

PASTE_OFFSET = (40.0, 40.0)  # where copies land without a pointer position: down and right of the originals
Clip = dict[str, Any]  # {"nodes": [node dicts], "edges": [edge dicts between them], "notes": [note dicts]}


def copy(flow: Flow, node_ids: set[str], note_ids: frozenset[str] = frozenset()) -> Clip:
    """The chosen nodes with the edges between them (and the chosen notes), as plain data.

    The start node is left out: a flow has one place to begin.
    """
    picked = node_ids - {flow.start}
    return {
        "nodes": [n.model_dump() for n in flow.nodes if n.id in picked],
        "edges": [e.model_dump() for e in flow.edges if e.source in picked and e.target in picked],
        "notes": [n.model_dump() for n in flow.notes if n.id in note_ids],
    }


def paste(flow: Flow, clip: Clip, at: tuple[float, float] | None = None) -> tuple[Flow, list[str], list[str]]:
    """The flow with copies of the clip's nodes, edges and notes under new ids.

    They land with their top-left corner at `at`, or beside the originals. Returns the flow and the
    new node and note ids. Anything in the clip that is not a valid node is refused whole.
    """
    try:
        nodes = [Node.model_validate(n) for n in clip.get("nodes", [])]
        edges = [Edge.model_validate(e) for e in clip.get("edges", [])]
        notes = [Note.model_validate(n) for n in clip.get("notes", [])]
    except (ValueError, TypeError, AttributeError) as exc:
        raise Refused(_("What was copied cannot be pasted here; copy it again.")) from exc
    items: list[Node | Note] = [*nodes, *notes]
    if not items:
        raise Refused(_("Nothing to paste: select nodes and copy them first (Ctrl+C)."))
    dx, dy = PASTE_OFFSET
    if at is not None:
        dx = at[0] - min(float(i.ui.get("x", 0)) for i in items)
        dy = at[1] - min(float(i.ui.get("y", 0)) for i in items)
    taken = {n.id for n in flow.nodes}
    renamed: dict[str, str] = {}
    new_nodes = []
    for n in nodes:
        renamed[n.id] = new_id = _free(taken, n.id.rsplit("-", 1)[0] if n.id.rsplit("-", 1)[-1].isdigit() else n.id)
        taken.add(new_id)
        new_nodes.append(_shifted(n, dx, dy, new_id))
    taken_edges = {e.id for e in flow.edges}
    new_edges = []
    for e in edges:
        if e.source not in renamed or e.target not in renamed:
            continue
        edge_id = _free(taken_edges, "e")
        taken_edges.add(edge_id)
        new_edges.append(e.model_copy(update={"id": edge_id, "source": renamed[e.source], "target": renamed[e.target]}))
    taken_notes = {n.id for n in flow.notes}
    new_notes = []
    for note in notes:
        note_id = _free(taken_notes, "note")
        taken_notes.add(note_id)
        new_notes.append(_shifted(note, dx, dy, note_id))
    pasted = flow.model_copy(
        update={
            "nodes": [*flow.nodes, *new_nodes],
            "edges": [*flow.edges, *new_edges],
            "notes": [*flow.notes, *new_notes],
        }
    )
    return pasted, [n.id for n in new_nodes], [n.id for n in new_notes]


# automatic layout

COLUMN_GAP, ROW_GAP = 320, 40  # between columns of steps (cards are 240 wide), and between cards in a column
# a card's parts, in pixels, as flow_canvas.js draws them: title row, a line of text, a row of
# chips, the "saves to" line, an exit
HEAD, LINE, CHIP_ROW, SAVES, EXIT = 44, 18, 24, 20, 27
LINE_CHARACTERS, CHIPS_PER_ROW = 30, 3


def card_height(flow: Flow, node: Node, registry: Registry) -> int:
    """About how tall the node's card is drawn (builder/cards.py says what it holds)."""
    inputs, outputs = ports(flow, node, registry)
    return drawn_height(card_data(flow, node, registry, inputs, outputs), outputs)


def drawn_height(data: dict[str, Any], outputs: list[str]) -> int:
    """About how tall a card showing `data` (builder/cards.py) with these exits is drawn."""
    text = data["text"] or data["empty"]
    body = 0
    if text:
        body += LINE * min(3, -(-len(text) // LINE_CHARACTERS))
    if data["chips"]:
        body += CHIP_ROW * -(-len(data["chips"]) // CHIPS_PER_ROW)
    if data["saves"]:
        body += SAVES
    exits = 0 if outputs == ["out"] else EXIT * len(outputs)
    return HEAD + (body + 10 if body else 0) + exits


CARD_WIDTH, NOTE_SIZE, MARGIN = 240, (200, 80), 24  # a card's width, a note's size, the space kept around


def free_spot(flow: Flow, registry: Registry, x: float, y: float, width: float = CARD_WIDTH) -> tuple[float, float]:
    """The place nearest (x, y) where a new card (`width` wide) covers no step or note. Nearest as a
    flow reads: a place to the right counts as closer than one as far below, and one to the left as
    farther (a new step usually follows what is in view)."""
    taken = [(float(n.ui.get("x", 0)), float(n.ui.get("y", 0)), CARD_WIDTH, card_height(flow, n, registry))
             for n in flow.nodes]  # fmt: skip
    taken += [(float(n.ui.get("x", 0)), float(n.ui.get("y", 0)), *NOTE_SIZE) for n in flow.notes]
    height = 120

    def free(cx: float, cy: float) -> bool:
        return all(
            cx + width + MARGIN <= ox or ox + ow + MARGIN <= cx or cy + height + MARGIN <= oy or oy + oh + MARGIN <= cy
            for ox, oy, ow, oh in taken
        )

    for dx, dy in SPOTS:
        if free(x + dx, y + dy):
            return x + dx, y + dy
    return x, y


def _far(d: tuple[int, ...]) -> float:
    dx, dy = d
    return math.hypot(dx * (0.6 if dx > 0 else 1.5), dy * 2.0)


# the places free_spot tries, 60 apart up to 30 steps away, nearest first as a flow reads
SPOTS = [(dx * 60, dy * 60) for dx, dy in sorted(itertools.product(range(-30, 31), repeat=2), key=_far)]


def auto_layout(flow: Flow, registry: Registry) -> Flow:
    """The nodes arranged left to right in the order a conversation meets them.

    Each node goes in the column of its distance from the start (breadth first, so loops back do not
    push nodes right); within a column, nodes keep the order of the outputs that lead to them.
    Nodes the start cannot reach follow in columns of their own below. Notes do not move.
    """
    out: dict[str, list[str]] = {n.id: [] for n in flow.nodes}
    order = {n.id: i for i, n in enumerate(flow.nodes)}
    for e in flow.edges:
        if e.source in out and e.target in out:
            out[e.source].append(e.target)
    column: dict[str, int] = {}
    seen_order: list[str] = []

    def walk(root: str, base: int) -> None:
        queue = deque([root])
        column[root] = base
        while queue:
            node_id = queue.popleft()
            seen_order.append(node_id)
            for nxt in out[node_id]:
                if nxt not in column:
                    column[nxt] = column[node_id] + 1
                    queue.append(nxt)

    if flow.start in out:
        walk(flow.start, 0)
    targets = {e.target for e in flow.edges}
    for n in sorted(flow.nodes, key=lambda n: (n.id in targets, order[n.id])):
        if n.id not in column:
            walk(n.id, 0)  # not reachable from the start: its own group, laid out the same way
    positions: dict[str, tuple[float, float]] = {}
    heights: dict[int, float] = {}
    by_id = {n.id: n for n in flow.nodes}
    for node_id in seen_order:
        col = column[node_id]
        y = heights.get(col, 0.0)
        positions[node_id] = (col * COLUMN_GAP, y)
        heights[col] = y + card_height(flow, by_id[node_id], registry) + ROW_GAP
    return move(flow, positions)


def set_settings(flow: Flow, node_id: str, settings: dict[str, Any]) -> Flow:
    """The node with new settings (already validated by the settings form)."""
    _need(flow, node_id)
    nodes = [n.model_copy(update={"settings": settings}) if n.id == node_id else n for n in flow.nodes]
    return flow.model_copy(update={"nodes": nodes})

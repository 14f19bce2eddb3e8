"""Edits the canvas makes to a flow draft: each returns a new Flow, or raises Refused with a sentence.

The draft is the authoritative graph; the browser only proposes changes, and undoes a refused one.
"""

from __future__ import annotations

from typing import Any

from flows.models import Edge, Flow, Node
from nodes.api import NodeType
from nodes.registry import Registry


class Refused(ValueError):
    """A change the canvas proposed that the flow cannot take; the message is for the user."""


def _need(flow: Flow, node_id: str) -> Node:
    node = flow.node(node_id)
    if node is None:
        raise Refused(f"There is no node {node_id!r} in this flow.")
    return node


def ports(flow: Flow, node: Node, registry: Registry) -> tuple[list[str], list[str]]:
    """The node's input and output ports; an uninstalled type keeps the ports its edges use."""
    spec = registry.get(node.type)
    if spec is None:
        inputs = sorted({e.target_port for e in flow.edges if e.target == node.id})
        return inputs, sorted({e.source_port for e in flow.edges if e.source == node.id})
    return list(spec.inputs), spec.inspect(node.settings, node.version).outputs


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
        raise Refused("A node cannot lead to itself; add a step in between.")
    src, dst = _need(flow, source), _need(flow, target)
    spec_src, spec_dst = registry.get(src.type), registry.get(dst.type)
    if spec_src is not None and source_port not in ports(flow, src, registry)[1]:
        raise Refused(f"Node {source!r} has no output {source_port!r}.")
    if spec_dst is not None and target_port not in spec_dst.inputs:
        raise Refused(f"Node {target!r} has no input {target_port!r}.")
    if any(e.source == source and e.source_port == source_port for e in flow.edges):
        raise Refused(
            f"The output {source_port!r} of node {source!r} is already connected; the bot can only go one way."
        )
    edge = Edge(
        id=_free({e.id for e in flow.edges}, "e"),
        source=source,
        source_port=source_port,
        target=target,
        target_port=target_port,
    )
    return flow.model_copy(update={"edges": [*flow.edges, edge]}), edge


def move(flow: Flow, positions: dict[str, tuple[float, float]]) -> Flow:
    """The nodes placed at new canvas positions (the runtime never reads them)."""
    for node_id in positions:
        _need(flow, node_id)
    nodes = [
        n.model_copy(update={"ui": {**n.ui, "x": round(positions[n.id][0]), "y": round(positions[n.id][1])}})
        if n.id in positions
        else n
        for n in flow.nodes
    ]
    return flow.model_copy(update={"nodes": nodes})


def remove(flow: Flow, node_ids: set[str], edge_ids: set[str]) -> Flow:
    """The flow without these nodes, their edges and these edges; the start node stays."""
    if flow.start in node_ids:
        raise Refused("The start node cannot be deleted: the conversation begins there.")
    nodes = [n for n in flow.nodes if n.id not in node_ids]
    edges = [e for e in flow.edges if e.id not in edge_ids and e.source not in node_ids and e.target not in node_ids]
    return flow.model_copy(update={"nodes": nodes, "edges": edges})


def set_settings(flow: Flow, node_id: str, settings: dict[str, Any]) -> Flow:
    """The node with new settings (already validated by the settings form)."""
    _need(flow, node_id)
    nodes = [n.model_copy(update={"settings": settings}) if n.id == node_id else n for n in flow.nodes]
    return flow.model_copy(update={"nodes": nodes})

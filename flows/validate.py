"""Checks a flow as a whole and reports every problem at once, in words a non-programmer reads.

Run when a flow is saved or published, never per message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import networkx as nx

from flows.models import Flow
from flows.problems import Catalog, Inspection, Problem


def validate(flow: Flow, catalog: Catalog) -> list[Problem]:
    """Every problem in the flow: errors first, then warnings, each naming its node or edge."""
    problems: list[Problem] = []
    add = problems.append

    seen = Counter(n.id for n in flow.nodes)
    for node_id, count in seen.items():
        if count > 1:
            add(Problem("duplicate_node", f"{count} nodes share the id {node_id!r}; each node needs its own.", node_id))
    seen_edges = Counter(e.id for e in flow.edges)
    for edge_id, count in seen_edges.items():
        if count > 1:
            add(Problem("duplicate_edge", f"{count} connections share the id {edge_id!r}.", edge_id=edge_id))

    nodes = {n.id: n for n in flow.nodes}
    info: dict[str, Inspection] = {}
    inputs: dict[str, Sequence[str]] = {}
    waits: set[str] = set()
    terminal: set[str] = set()
    missing: dict[str, list[str]] = {}
    for node in flow.nodes:
        spec = catalog.get(node.type)
        if spec is None:
            missing.setdefault(node.type, []).append(node.id)
            continue
        found = spec.inspect(node.settings, node.version)
        info[node.id] = found
        inputs[node.id] = spec.inputs
        if spec.waits:
            waits.add(node.id)
        if spec.terminal:
            terminal.add(node.id)
        for reason in found.errors:
            add(Problem("settings", reason, node.id))
    for type_name, ids in sorted(missing.items()):
        add(Problem(
            "unknown_type",
            f"The node type {type_name!r} is not installed (used by {', '.join(sorted(ids))}). "
            "Install the plugin that provides it.",
            ids[0],
        ))

    if not flow.nodes:
        add(Problem("empty", "The flow has no nodes yet."))
    if flow.start is None:
        if flow.nodes:
            add(Problem("no_start", "The flow has no start node: choose where the conversation begins."))
    elif flow.start not in nodes:
        add(Problem("no_start", f"The start node {flow.start!r} does not exist."))

    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(nodes)
    used_ports: dict[str, set[str]] = {n: set() for n in nodes}
    for edge in flow.edges:
        bad = False
        if edge.source not in nodes:
            add(Problem("edge_source", f"A connection starts at {edge.source!r}, which does not exist.", edge_id=edge.id))
            bad = True
        if edge.target not in nodes:
            add(Problem("edge_target", f"A connection leads to {edge.target!r}, which does not exist.", edge_id=edge.id))
            bad = True
        if bad:
            continue
        src = info.get(edge.source)
        if src is not None and edge.source_port not in src.outputs:
            add(Problem(
                "edge_port",
                f"Node {edge.source!r} has no output {edge.source_port!r} "
                f"(it has: {', '.join(src.outputs) or 'none'}).",
                edge.source, edge.id,
            ))
        if edge.target in inputs and edge.target_port not in inputs[edge.target]:
            add(Problem(
                "edge_port",
                f"Node {edge.target!r} has no input {edge.target_port!r}.",
                edge.target, edge.id,
            ))
        if edge.source_port in used_ports[edge.source]:
            add(Problem(
                "edge_fanout",
                f"The output {edge.source_port!r} of node {edge.source!r} is connected twice; "
                "the bot can only go one way. Remove one connection or add a condition.",
                edge.source, edge.id,
            ))
        used_ports[edge.source].add(edge.source_port)
        graph.add_edge(edge.source, edge.target)
    for node_id, found in info.items():
        for target in found.links:
            if target in nodes:
                graph.add_edge(node_id, target)
            else:
                add(Problem("link_target", f"Node {node_id!r} jumps to {target!r}, which does not exist.", node_id))

    if flow.start in nodes:
        reachable = nx.descendants(graph, flow.start) | {flow.start}
        for node_id in nodes:
            if node_id not in reachable:
                add(Problem(
                    "unreachable",
                    f"Node {node_id!r} can never be reached from the start; connect it or remove it.",
                    node_id, severity="warning",
                ))

    for node_id, found in info.items():
        if node_id in terminal or not found.outputs or found.links:
            continue
        if not used_ports[node_id]:
            add(Problem(
                "dead_end",
                f"Node {node_id!r} leads nowhere: the conversation would stop there. "
                "Connect it to the next step or to an End node.",
                node_id, severity="warning",
            ))

    _check_loops(graph, waits, set(info), add)
    problems.sort(key=lambda p: p.severity != "error")
    return problems


def _check_loops(graph: nx.DiGraph[str], waits: set[str], known: set[str], add: Any) -> None:
    """A loop in which the bot never waits for the user spins until the step limit stops it."""
    for component in nx.strongly_connected_components(graph):
        if len(component) == 1:
            (only,) = component
            if not graph.has_edge(only, only):
                continue
        if component & waits or not component <= known:
            continue
        can_leave = any(succ not in component for n in component for succ in graph.successors(n))
        members = ", ".join(sorted(component))
        if can_leave:
            add(Problem(
                "busy_loop",
                f"The nodes {members} form a loop in which the bot never waits for the user; "
                "make sure a condition always leads out of it.",
                min(component), severity="warning",
            ))
        else:
            add(Problem(
                "endless_loop",
                f"The nodes {members} form a loop with no way out in which the bot never waits for the user.",
                min(component),
            ))

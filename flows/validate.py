"""Checks a flow as a whole and reports every problem at once, in words a non-programmer reads.

Run when a flow is saved or published, never per message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import networkx as nx

from flows.models import Flow
from flows.problems import Catalog, Inspection, Problem


def validate(flow: Flow, catalog: Catalog) -> list[Problem]:
    """Every problem in the flow: errors first, then warnings, each naming its node or edge."""
    check = _Check(flow, catalog)
    check.ids()
    check.node_types()
    check.start()
    check.edges()
    check.reachable()
    check.dead_ends()
    check.loops()
    return sorted(check.problems, key=lambda p: p.severity != "error")


class _Check:
    """One validation run; each method adds the problems of one kind."""

    def __init__(self, flow: Flow, catalog: Catalog) -> None:
        self.flow, self.catalog = flow, catalog
        self.problems: list[Problem] = []
        self.nodes = {n.id: n for n in flow.nodes}
        self.info: dict[str, Inspection] = {}
        self.inputs: dict[str, Sequence[str]] = {}
        self.waits: set[str] = set()
        self.terminal: set[str] = set()
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        self.graph.add_nodes_from(self.nodes)
        self.used_ports: dict[str, set[str]] = {n: set() for n in self.nodes}

    def add(
        self, code: str, message: str, node_id: str | None = None, edge_id: str | None = None, *, warning: bool = False
    ) -> None:
        self.problems.append(Problem(code, message, node_id, edge_id, "warning" if warning else "error"))

    def ids(self) -> None:
        for node_id, count in Counter(n.id for n in self.flow.nodes).items():
            if count > 1:
                self.add("duplicate_node", f"{count} nodes share the id {node_id!r}; each node needs its own.", node_id)
        for edge_id, count in Counter(e.id for e in self.flow.edges).items():
            if count > 1:
                self.add("duplicate_edge", f"{count} connections share the id {edge_id!r}.", edge_id=edge_id)

    def node_types(self) -> None:
        missing: dict[str, list[str]] = {}
        for node in self.flow.nodes:
            spec = self.catalog.get(node.type)
            if spec is None:
                missing.setdefault(node.type, []).append(node.id)
                continue
            found = spec.inspect(node.settings, node.version)
            self.info[node.id] = found
            self.inputs[node.id] = spec.inputs
            if spec.waits:
                self.waits.add(node.id)
            if spec.terminal:
                self.terminal.add(node.id)
            for reason in found.errors:
                self.add("settings", reason, node.id)
        for type_name, ids in sorted(missing.items()):
            self.add(
                "unknown_type",
                f"The node type {type_name!r} is not installed (used by {', '.join(sorted(ids))}). "
                "Install the plugin that provides it.",
                ids[0],
            )

    def start(self) -> None:
        if not self.flow.nodes:
            self.add("empty", "The flow has no nodes yet.")
        elif self.flow.start is None:
            self.add("no_start", "The flow has no start node: choose where the conversation begins.")
        elif self.flow.start not in self.nodes:
            self.add("no_start", f"The start node {self.flow.start!r} does not exist.")

    def edges(self) -> None:
        for edge in self.flow.edges:
            ok = True
            if edge.source not in self.nodes:
                self.add(
                    "edge_source", f"A connection starts at {edge.source!r}, which does not exist.", edge_id=edge.id
                )
                ok = False
            if edge.target not in self.nodes:
                self.add(
                    "edge_target", f"A connection leads to {edge.target!r}, which does not exist.", edge_id=edge.id
                )
                ok = False
            if not ok:
                continue
            src = self.info.get(edge.source)
            # a node whose settings are invalid cannot tell its ports: its settings error says enough
            if src is not None and not src.errors and edge.source_port not in src.outputs:
                self.add(
                    "edge_port",
                    f"Node {edge.source!r} has no output {edge.source_port!r} "
                    f"(it has: {', '.join(src.outputs) or 'none'}).",
                    edge.source,
                    edge.id,
                )
            if edge.target in self.inputs and edge.target_port not in self.inputs[edge.target]:
                self.add("edge_port", f"Node {edge.target!r} has no input {edge.target_port!r}.", edge.target, edge.id)
            if edge.source_port in self.used_ports[edge.source]:
                self.add(
                    "edge_fanout",
                    f"The output {edge.source_port!r} of node {edge.source!r} is connected "
                    "twice; the bot can only go one way. Remove one connection or add a condition.",
                    edge.source,
                    edge.id,
                )
            self.used_ports[edge.source].add(edge.source_port)
            self.graph.add_edge(edge.source, edge.target)
        for node_id, found in self.info.items():
            for target in found.links:
                if target in self.nodes:
                    self.graph.add_edge(node_id, target)
                else:
                    self.add("link_target", f"Node {node_id!r} jumps to {target!r}, which does not exist.", node_id)

    def reachable(self) -> None:
        start = self.flow.start
        if start not in self.nodes:
            return
        reached = nx.descendants(self.graph, start) | {start}
        for node_id in self.nodes:
            if node_id not in reached:
                self.add(
                    "unreachable",
                    f"Node {node_id!r} can never be reached from the start; connect it or remove it.",
                    node_id,
                    warning=True,
                )

    def dead_ends(self) -> None:
        for node_id, found in self.info.items():
            if node_id in self.terminal or not found.outputs or found.links or self.used_ports[node_id]:
                continue
            self.add(
                "dead_end",
                f"Node {node_id!r} leads nowhere: the conversation would stop there. "
                "Connect it to the next step or to an End node.",
                node_id,
                warning=True,
            )

    def loops(self) -> None:
        """A loop in which the bot never waits for the user spins until the step limit stops it."""
        known = set(self.info)
        for component in nx.strongly_connected_components(self.graph):
            if len(component) == 1:
                (only,) = component
                if not self.graph.has_edge(only, only):
                    continue
            if component & self.waits or not component <= known:
                continue
            members = ", ".join(sorted(component))
            if any(succ not in component for n in component for succ in self.graph.successors(n)):
                self.add(
                    "busy_loop",
                    f"The nodes {members} form a loop in which the bot never waits for the "
                    "user; make sure a condition always leads out of it.",
                    min(component),
                    warning=True,
                )
            else:
                self.add(
                    "endless_loop",
                    f"The nodes {members} form a loop with no way out in which the bot never waits for the user.",
                    min(component),
                )

"""Compiling a flow into a frozen plan: settings validated, ports resolved, ready to interpret."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from flows.models import Flow
from flows.problems import FlowInvalid, Problem, has_errors
from flows.validate import validate
from nodes.api import NodeType, RunFn
from nodes.registry import Registry

LANGUAGE = re.compile(r"\blanguage\b")


@dataclass(frozen=True, slots=True)
class PlanNode:
    """One node, ready to run: its type, validated settings and where each port leads."""

    id: str
    type: NodeType
    run: RunFn
    settings: BaseModel
    next: dict[str, str]  # port → node id; never changed after compiling


@dataclass(frozen=True, slots=True)
class Plan:
    """A flow version, compiled once and shared by every conversation on it."""

    flow_id: str
    version: int
    name: str
    start: str
    nodes: dict[str, PlanNode]  # never changed after compiling (a plain dict: read on every step)
    defaults: Mapping[str, Any]
    warnings: tuple[Problem, ...] = ()
    uses_language: bool = False  # the flow mentions `language`: keep it up to date on each message


def compile_flow(flow: Flow, registry: Registry, version: int = 0) -> Plan:
    """Validate and freeze a flow; FlowInvalid lists every problem (all missing node types included)."""
    problems = validate(flow, registry)
    if has_errors(problems):
        raise FlowInvalid(problems, flow.id)
    edges: dict[str, dict[str, str]] = {n.id: {} for n in flow.nodes}
    for edge in flow.edges:
        edges[edge.source][edge.source_port] = edge.target
    nodes = {}
    for node in flow.nodes:
        node_type = registry.get(node.type)
        assert node_type is not None  # validate() reported unknown types
        nodes[node.id] = PlanNode(
            id=node.id,
            type=node_type,
            run=node_type.run,
            settings=node_type.parse(node.settings, node.version),
            next=edges[node.id],
        )
    assert flow.start is not None
    return Plan(
        flow_id=flow.id,
        version=version,
        name=flow.name,
        start=flow.start,
        nodes=nodes,
        defaults=MappingProxyType({v.name: v.default for v in flow.variables}),
        warnings=tuple(problems),
        uses_language=any(
            LANGUAGE.search(json.dumps(node.settings))
            or "language" in nodes[node.id].type.reads(nodes[node.id].settings)
            for node in flow.nodes
        ),
    )

"""Validation of a 500-node flow (schema and graph checks), as done each time a flow is saved."""

from __future__ import annotations

import json
import time

from flows.document import parse_flow
from flows.validate import validate
from nodes.registry import Registry

SIZE = 500


def big_flow(size: int = SIZE) -> str:
    """A flow of `size` nodes: messages in a chain, a condition every tenth node, an end."""
    nodes = [{"id": "start", "type": "flow.start"}]
    edges = []
    previous, port = "start", "out"
    for i in range(size - 2):
        node_id = f"n{i}"
        if i % 10 == 9:
            nodes.append(
                {
                    "id": node_id,
                    "type": "logic.condition",
                    "settings": {
                        "branches": [
                            {"port": "high", "rules": [{"left": "{{ score }}", "op": "greater_than", "right": str(i)}]},
                        ]
                    },
                }
            )
        else:
            nodes.append({"id": node_id, "type": "message.send", "settings": {"text": f"Step {i}: {{{{ name }}}}"}})
        edges.append({"id": f"e{i}", "source": previous, "source_port": port, "target": node_id})
        if i % 10 == 9:  # the other branch skips ahead to the same next node
            edges.append({"id": f"x{i}", "source": node_id, "source_port": "else", "target": f"n{i + 1}"})
            port = "high"
        else:
            port = "out"
        previous = node_id
    nodes.append({"id": "end", "type": "flow.end"})
    edges.append({"id": "last", "source": previous, "source_port": port, "target": "end"})
    if edges[-2]["target"] == f"n{size - 2}":
        edges.pop(-2)
    return json.dumps({"id": "big", "name": "Big", "start": "start", "nodes": nodes, "edges": edges})


def main() -> dict[str, float]:
    registry = Registry.from_entry_points()
    raw = big_flow()
    flow = parse_flow(raw)
    problems = [p for p in validate(flow, registry) if p.severity == "error"]
    assert not problems, problems[:3]
    best = float("inf")
    for _ in range(20):
        began = time.perf_counter()
        validate(parse_flow(raw), registry)
        best = min(best, time.perf_counter() - began)
    return {"ms": best * 1000, "nodes": len(flow.nodes)}


if __name__ == "__main__":
    print(main())

"""Interpretation overhead: a 10-node turn through the interpreter against the same logic as a plain function.

The nodes are a small plugin type (add to a counter, branch on it) so that what is measured is
the interpreter's own work: finding the node, calling its `run`, following the port. The plain
function does the same ten additions and branch as ordinary async Python.
"""

from __future__ import annotations

import asyncio
import itertools
import time

from pydantic import BaseModel

from flows.document import flow_from_data
from nodes.api import Inbound, NodeContext, NodeType, Services, Step
from nodes.registry import Registry
from runtime.interpreter import Interpreter, Reply
from runtime.plan import Plan, compile_flow
from runtime.state import ConversationState

ROUNDS = 4_000
REPEATS = 25  # best of many short runs: this machine's speed wanders
NODES = 10


class Add(BaseModel):
    name: str
    amount: int = 1


class Wait(BaseModel):
    pass


_OUT = Step.next("out")
_ASK = Step.ask()


async def _add(ctx: NodeContext, s: Add) -> Step:
    ctx.vars[s.name] = ctx.vars.get(s.name, 0) + s.amount
    return _OUT


async def _check(ctx: NodeContext, s: Add) -> Step:
    return Step.next("big" if ctx.vars.get(s.name, 0) > s.amount else "small")


async def _ask(ctx: NodeContext, s: Wait) -> Step:
    if ctx.inbound is None:
        return _ASK
    ctx.vars["answer"] = ctx.inbound.text
    return _OUT


TYPES = [
    NodeType("bench.add", 1, "Add", "Bench", Add, _add),
    NodeType("bench.check", 1, "Check", "Bench", Add, _check, outputs=("big", "small")),
    NodeType("bench.ask", 1, "Ask", "Bench", Wait, _ask, waits=True),
]


def build_plan() -> Plan:
    """ask → eight additions → check; check leads back to ask, which waits: ten nodes and the question again."""
    nodes = [{"id": "ask", "type": "bench.ask"}]
    nodes += [{"id": f"a{i}", "type": "bench.add", "settings": {"name": f"v{i % 3}"}} for i in range(NODES - 2)]
    nodes += [{"id": "check", "type": "bench.check", "settings": {"name": "v0", "amount": 10**9}}]
    ids = [n["id"] for n in nodes]
    edges = [{"id": f"e{i}", "source": a, "target": b} for i, (a, b) in enumerate(itertools.pairwise(ids))]
    edges.append({"id": "back", "source": "check", "source_port": "small", "target": "ask"})
    doc = {"id": "bench", "name": "Bench", "start": "ask", "nodes": nodes, "edges": edges}
    return compile_flow(flow_from_data(doc), Registry.of(TYPES), 1)


async def plain(vars: dict, text: str) -> str:
    """The same turn written by hand: save the answer, eight additions, a branch, back to the question."""
    vars["answer"] = text
    vars["v0"] = vars.get("v0", 0) + 1
    vars["v1"] = vars.get("v1", 0) + 1
    vars["v2"] = vars.get("v2", 0) + 1
    vars["v0"] = vars.get("v0", 0) + 1
    vars["v1"] = vars.get("v1", 0) + 1
    vars["v2"] = vars.get("v2", 0) + 1
    vars["v0"] = vars.get("v0", 0) + 1
    vars["v1"] = vars.get("v1", 0) + 1
    return "big" if vars.get("v0", 0) > 10**9 else "small"


async def direct(plan: Plan, ctx: NodeContext, text: str) -> str | None:
    """The nodes' own work with no interpreter: each node's `run` called in order, ports ignored."""
    ctx.inbound = Inbound(text)
    step = None
    for pn in ORDER:
        step = await pn.run(ctx, pn.settings)
        ctx.inbound = None
    return step.port if step else None


ORDER: list = []


async def measure() -> dict[str, float]:
    plan = build_plan()
    ORDER[:] = [plan.nodes["ask"], *(plan.nodes[f"a{i}"] for i in range(NODES - 2)), plan.nodes["check"]]
    direct_ctx = NodeContext(vars={})

    async def plans(flow_id: str, version: int | None) -> Plan:
        return plan

    interp = Interpreter(plans, Services())
    state = ConversationState(
        id="c", flow_id="bench", version=1, status="waiting", node="ask", at_flow="bench", at_version=1
    )
    reply = Reply(Inbound("hello"))
    best_interp = best_plain = best_direct = float("inf")
    for _ in range(REPEATS):
        began = time.perf_counter()
        for _ in range(ROUNDS):
            state.status, state.node = "waiting", "ask"
            await interp.advance(state, reply)
        best_interp = min(best_interp, (time.perf_counter() - began) / ROUNDS)
        vars: dict = {}
        began = time.perf_counter()
        for _ in range(ROUNDS):
            await plain(vars, "hello")
        best_plain = min(best_plain, (time.perf_counter() - began) / ROUNDS)
        began = time.perf_counter()
        for _ in range(ROUNDS):
            await direct(plan, direct_ctx, "hello")
        best_direct = min(best_direct, (time.perf_counter() - began) / ROUNDS)
    return {
        "turn_us": best_interp * 1e6,
        "plain_us": best_plain * 1e6,
        "ratio": best_interp / best_plain,
        "direct_us": best_direct * 1e6,
        "direct_ratio": best_interp / best_direct,
        "per_node_us": best_interp * 1e6 / (NODES + 1),  # ten nodes, and the question again
        "overhead_per_node_us": (best_interp - best_direct) * 1e6 / (NODES + 1),
    }


def main() -> dict[str, float]:
    return asyncio.run(measure())


if __name__ == "__main__":
    print(main())

"""Small node types for runtime tests: they exercise the interpreter, not the built-ins."""

from __future__ import annotations

import itertools

from pydantic import BaseModel

from nodes.api import NodeContext, NodeType, Outbound, Step
from nodes.registry import Registry


class Text(BaseModel):
    text: str = ""


class Nothing(BaseModel):
    pass


class Ask(BaseModel):
    prompt: str = "?"
    save_as: str = "answer"
    timeout: float | None = None


class Nap(BaseModel):
    seconds: float = 1.0


class Loop(BaseModel):
    limit: int = 3


class Call(BaseModel):
    flow_id: str
    share: list[str] = []


async def _start(ctx: NodeContext, s: Nothing) -> Step:
    return Step.next()


async def _say(ctx: NodeContext, s: Text) -> Step:
    return Step.next("out", Outbound(ctx.render(s.text)))


async def _ask(ctx: NodeContext, s: Ask) -> Step:
    if ctx.woke:
        return Step.next("timeout", Outbound("Too slow."))
    if ctx.inbound is None:
        ctx.memory["asked"] = ctx.memory.get("asked", 0) + 1
        return Step.ask(Outbound(ctx.render(s.prompt)), timeout=s.timeout)
    ctx.vars[s.save_as] = ctx.inbound.answer
    return Step.next("out")


async def _boom(ctx: NodeContext, s: Text) -> Step:
    ctx.vars["touched"] = True  # must not survive a failed turn
    raise RuntimeError(s.text or "boom")


async def _count(ctx: NodeContext, s: Loop) -> Step:
    ctx.vars["n"] = ctx.vars.get("n", 0) + 1
    return Step.next("loop" if ctx.vars["n"] < s.limit else "done")


async def _nap(ctx: NodeContext, s: Nap) -> Step:
    if ctx.woke:
        return Step.next("out", Outbound("Awake."))
    return Step.sleep(s.seconds, Outbound("Sleeping."))


async def _call(ctx: NodeContext, s: Call) -> Step:
    return Step.call_flow(s.flow_id, tuple(s.share))


async def _end(ctx: NodeContext, s: Text) -> Step:
    return Step.finish(*([Outbound(ctx.render(s.text))] if s.text else []))


TYPES = [
    NodeType("test.start", 1, "Start", "Test", Nothing, _start, inputs=()),
    NodeType("test.say", 1, "Say", "Test", Text, _say),
    NodeType("test.ask", 1, "Ask", "Test", Ask, _ask, outputs=("out", "timeout"), waits=True),
    NodeType("test.boom", 1, "Boom", "Test", Text, _boom, outputs=("out", "error")),
    NodeType("test.count", 1, "Count", "Test", Loop, _count, outputs=("loop", "done")),
    NodeType("test.nap", 1, "Nap", "Test", Nap, _nap, waits=True),
    NodeType("test.call", 1, "Call", "Test", Call, _call, outputs=("out", "error")),
    NodeType("test.end", 1, "End", "Test", Text, _end, outputs=(), terminal=True),
]


def registry() -> Registry:
    return Registry.of(TYPES)


def chain(flow_id: str, *specs: tuple[str, str, dict], edges: list[tuple[str, str, str]] | None = None) -> dict:
    """A flow document: nodes given as (id, type, settings); edges default to a straight chain by 'out'."""
    nodes = [{"id": i, "type": t, "settings": s} for i, t, s in specs]
    if edges is None:
        edges = [(a[0], "out", b[0]) for a, b in itertools.pairwise(specs)]
    return {
        "id": flow_id,
        "name": flow_id.title(),
        "start": specs[0][0],
        "nodes": nodes,
        "edges": [{"id": f"e{k}", "source": s, "source_port": p, "target": t} for k, (s, p, t) in enumerate(edges)],
    }

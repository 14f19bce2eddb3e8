"""Walks a compiled plan for one event until the conversation must wait again or ends.

Pure with respect to storage: it changes the ConversationState in memory and returns the
messages; the caller saves both in one transaction, or throws both away.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nodes.ai.language import detect_language
from nodes.api import CallFlow, Inbound, NodeContext, Outbound, Services
from runtime.plan import Plan, PlanNode
from runtime.state import ConversationState, Frame

log = logging.getLogger(__name__)

PlanLoader = Callable[[str, int | None], Awaitable[Plan]]  # (flow_id, version or None = latest)
DEFAULT_STEP_LIMIT = 500


class TurnError(Exception):
    """A turn that could not finish; the conversation stays as it was before the turn."""

    def __init__(self, message: str, *, flow_id: str, node_id: str | None, conversation_id: str) -> None:
        self.flow_id, self.node_id, self.conversation_id = flow_id, node_id, conversation_id
        super().__init__(message)


class StepLimitExceeded(TurnError):
    """The flow ran too many steps without waiting for the user: almost surely an endless loop."""


class NodeFailed(TurnError):
    """A node raised and had no `error` port connected."""


@dataclass(slots=True)
class Start:
    """Begin the flow at its start node."""


@dataclass(slots=True)
class Reply:
    """The user answered."""

    inbound: Inbound


@dataclass(slots=True)
class Wake:
    """A timer the waiting node asked for has fired."""

    token: str


Event = Start | Reply | Wake


@dataclass(slots=True)
class Outcome:
    """What a turn produced."""

    messages: list[tuple[str, Outbound]] = field(default_factory=list)  # (node id, message)
    trail: list[str] = field(default_factory=list)  # node ids visited, for highlighting and tests
    timer: float | None = None  # seconds until the waiting node wants to be woken


def user_key(state: ConversationState) -> str:
    """Who is talking, the same in every conversation they have with this channel account (memories
    and profiles are kept under it); a conversation without a known user is its own user."""
    if state.user_id:
        return f"{state.channel}:{state.account}:{state.user_id}"
    return f"conversation:{state.id}"


class Interpreter:
    """Runs plans. One instance serves every conversation; it holds no conversation state."""

    def __init__(
        self,
        plans: PlanLoader,
        services: Services,
        *,
        step_limit: int = DEFAULT_STEP_LIMIT,
        test_mode: bool = False,
    ) -> None:
        self.plans = plans
        self.services = services
        self.step_limit = step_limit
        self.test_mode = test_mode

    async def advance(self, state: ConversationState, event: Event) -> Outcome:  # noqa: PLR0915 - the hot loop stays in one frame
        """Walk from where the conversation stands; mutate `state`; return the messages."""
        out = Outcome()
        if isinstance(event, Start):
            plan = await self.plans(state.flow_id, state.version)
            state.at_flow, state.at_version = plan.flow_id, plan.version
            state.vars = {**plan.defaults, **state.vars}
            state.stack, state.memory = [], {}
            node_id: str | None = plan.start
            inbound, woke = None, False
        else:
            plan = await self.plans(state.at_flow, state.at_version)
            node_id = state.node
            inbound = event.inbound if isinstance(event, Reply) else None
            woke = isinstance(event, Wake)
            if inbound is not None and inbound.text and plan.uses_language:
                found = detect_language(inbound.text)
                if found is not None:  # a short "ok" keeps the language the user wrote in before
                    state.vars["language"] = found[0]
        state.node, state.wake_token, state.wake_at = None, None, None

        ctx = NodeContext(
            conversation_id=state.id,
            flow_id=plan.flow_id,
            vars=state.vars,
            services=self.services,
            test_mode=self.test_mode,
            memory=state.memory,
            bot=state.flow_id,
            user=user_key(state),
            heard=inbound,
            said=out.messages,
        )
        nodes, messages, trail = plan.nodes, out.messages, out.trail
        limit, steps = self.step_limit, 0
        while node_id is not None:
            steps += 1
            if steps > limit:
                raise StepLimitExceeded(
                    f"The flow {plan.flow_id!r} ran {limit} steps without waiting for the user "
                    f"and was stopped (last at node {node_id!r}); it probably loops forever.",
                    flow_id=plan.flow_id,
                    node_id=node_id,
                    conversation_id=state.id,
                )
            pn = nodes[node_id]
            ctx.node_id, ctx.inbound, ctx.woke = node_id, inbound, woke
            if inbound is None and not woke:
                ctx._memory = None  # a fresh scratch, made only if the node uses it
            else:
                inbound, woke = None, False
            trail.append(node_id)
            try:
                step = await pn.run(ctx, pn.settings)
            except Exception as exc:  # noqa: BLE001 - whatever a plugin raises is routed, never crashes the loop
                node_id = self._route_error(pn, plan, ctx, state, exc)
                continue
            if step.messages:
                messages.extend([(node_id, m) for m in step.messages])
            port = step.port
            if port is not None:  # the common case: leave by a port
                node_id = pn.next.get(port)
            elif step.wait is not None:
                state.node, state.memory = node_id, ctx.memory
                state.status = "waiting" if step.wait == "reply" else "sleeping"
                delay = step.delay if step.wait == "timer" else step.timeout
                if delay is not None:
                    state.wake_token = uuid.uuid4().hex
                    out.timer = max(0.0, float(delay))
                return out
            elif step.goto is not None:
                node_id = step.goto
                continue
            elif step.call is not None:
                plan, node_id = await self._call(step.call, pn, plan, ctx, state)
                nodes = plan.nodes
                continue
            else:
                node_id = None
            while node_id is None and state.stack:
                plan, node_id = await self._return(ctx, state)
                nodes = plan.nodes
        state.status = "ended"
        state.memory = {}
        return out

    def _route_error(self, pn: PlanNode, plan: Plan, ctx: NodeContext, state: ConversationState, exc: Exception) -> str:
        """Where a node that raised continues: its `error` port, or nowhere (NodeFailed)."""
        target = pn.next.get("error")
        if target is None:
            raise NodeFailed(
                f"Node {pn.id!r} ({pn.type.type}) of flow {plan.flow_id!r} failed: {exc}",
                flow_id=plan.flow_id,
                node_id=pn.id,
                conversation_id=state.id,
            ) from exc
        log.warning(
            "node failed, leaving by its error port: %s",
            exc,
            extra={"flow_id": plan.flow_id, "node_id": pn.id, "conversation_id": state.id},
        )
        ctx.vars["error"] = str(exc)
        return target

    async def _call(
        self, call: CallFlow, pn: PlanNode, plan: Plan, ctx: NodeContext, state: ConversationState
    ) -> tuple[Plan, str | None]:
        """Enter a sub-flow with only the shared variables; its `error` port if it is not published."""
        try:
            sub = await self.plans(call.flow_id, None)
        except LookupError:
            problem = LookupError(f"The flow {call.flow_id!r} that node {pn.id!r} calls is not published.")
            return plan, self._route_error(pn, plan, ctx, state, problem)
        share = list(call.share)
        caller_vars = state.vars
        state.stack.append(Frame(plan.flow_id, plan.version, pn.id, share, caller_vars))
        state.vars = {**sub.defaults, **{k: caller_vars[k] for k in share if k in caller_vars}}
        if "user" in caller_vars:
            state.vars.setdefault("user", caller_vars["user"])
        ctx.vars, ctx.flow_id = state.vars, sub.flow_id
        state.at_flow, state.at_version = sub.flow_id, sub.version
        return sub, sub.start

    async def _return(self, ctx: NodeContext, state: ConversationState) -> tuple[Plan, str | None]:
        """A sub-flow is done: hand the shared variables back and continue after the call."""
        frame = state.stack.pop()
        caller_vars = frame.vars
        for name in frame.share:
            if name in state.vars:
                caller_vars[name] = state.vars[name]
        state.vars = ctx.vars = caller_vars
        plan = await self.plans(frame.flow_id, frame.version)
        state.at_flow, state.at_version, ctx.flow_id = plan.flow_id, plan.version, plan.flow_id
        return plan, plan.nodes[frame.node_id].next.get("out")

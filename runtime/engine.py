"""The runtime: handles one event for one conversation at a time, and saves it whole.

`handle` loads a conversation, walks its plan until it must wait again, and saves the new
state, the transcript and the outgoing messages in one transaction. A redelivered inbound
event is answered from what was saved the first time. One conversation is handled by one
worker at a time (a lock in this process, and a sequence number checked on save across
processes); different conversations run concurrently.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy.engine import Engine

from flows.problems import FlowInvalid
from flows.store import FlowNotFound, FlowStore
from nodes.api import HttpClient, Inbound, Outbound, Services
from nodes.registry import Registry
from runtime.interpreter import Event, Interpreter, Outcome, Reply, Start, TurnError, Wake
from runtime.outbound.addresses import Allowance
from runtime.outbound.guard import Guard
from runtime.plan import Plan, compile_flow
from runtime.state import ConversationState
from runtime.store import Also, Conflict, ConversationStore, Duplicate
from runtime.timers import Timers
from runtime.workspace_outbound import guards

if TYPE_CHECKING:
    from runtime.ai.setup import AI

log = logging.getLogger(__name__)

FALLBACK = "Sorry, something went wrong on our side. Please try again in a moment."
DRAFT = 0  # version number that means "the current draft" (test chat, CLI)
Listener = Callable[[str, Sequence[Outbound]], Any]


MAX_ATTEMPTS = 20  # saves lost to another worker before giving up
DB_THREADS = 8  # a server database's calls run on this many threads, never on the event loop
T = TypeVar("T")
RECENT_EVENTS = 10  # inbound event ids remembered in the state, to spot redeliveries without a query


class ConversationNotFound(LookupError):
    """No conversation with that id."""


class ConversationExists(ValueError):
    """A conversation with that id was started before."""


class Busy(RuntimeError):
    """Other workers kept changing the conversation; the caller may retry later."""


class Runtime:
    """Runs published flows for conversations stored in the database."""

    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        *,
        services: Services | None = None,
        test_mode: bool = False,
        wait_scale: float = 1.0,
        step_limit: int = 500,
        name: str | None = None,
        plan_cache_size: int = 256,
        state_cache: int | None = None,
        outbound: Allowance | None = None,
    ) -> None:
        """`outbound`: private places every flow may reach besides CHATLOOM_OUTBOUND_ALLOW (the
        server's own demo API); used only when `services` brings no HTTP client."""
        self.engine = engine
        self.registry = registry
        self.flows = FlowStore(engine)
        self.store = ConversationStore(engine)
        self.services = services or Services()
        self._own_http = self.services.http is None
        if self._own_http:  # every request a flow or plugin makes goes through the outbound guard
            guard, scoped = guards(engine, outbound)
            self.services.http = cast(HttpClient, guard)
            self.services.http_for = self.services.http_for or scoped
        if self.services.transcript is None:
            self.services.transcript = self._transcript
        self.wait_scale = wait_scale
        self.interpreter = Interpreter(self.plan, self.services, step_limit=step_limit, test_mode=test_mode)
        self.timers = Timers(engine, self.wake, name=name or Timers.name_for(engine))
        self._plans: OrderedDict[tuple[str, int], Plan] = OrderedDict()
        self._plan_cache_size = plan_cache_size
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._listeners: list[Listener] = []
        # Conversations this process saved last, so a turn needs no read. A stale entry (another
        # worker saved since) is caught by the sequence check on save and the turn is redone,
        # so with several workers the cache is off by default: a redone turn repeats side effects.
        if state_cache is None:
            state_cache = 10_000 if engine.dialect.name == "sqlite" else 0
        self._cache_size = state_cache
        self._cache: OrderedDict[str, ConversationState] = OrderedDict()
        self.fallback_text = FALLBACK
        self.ai: AI | None = None  # the models, their records (set by runtime.ai.setup.attach_ai)
        self._db_pool: ThreadPoolExecutor | None = None
        self._inline = engine.dialect.name == "sqlite"

    async def io(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a database call. On a database server it runs on a bounded pool of threads, so a slow
        database slows the turns waiting for it, never the event loop (webhooks are acknowledged
        meanwhile). SQLite is a file on this machine: its calls take microseconds and run inline."""
        if self._inline:
            return fn(*args, **kwargs)
        if self._db_pool is None:
            self._db_pool = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="chatloom-db")
        return await asyncio.get_running_loop().run_in_executor(self._db_pool, functools.partial(fn, *args, **kwargs))

    async def _transcript(self, conversation_id: str, count: int) -> list[tuple[str, str]]:
        """The conversation's last lines, for nodes that give a language model the history."""
        return await asyncio.to_thread(self.store.recent_lines, conversation_id, count)

    # -- lifecycle -------------------------------------------------------------------------

    async def startup(self) -> None:
        """Start the timers and re-arm any whose job was lost (a crash between save and schedule)."""
        self.timers.start()
        for state in self.store.sleeping():
            if state.wake_token and not self.timers.exists(state.id, state.wake_token):
                at = datetime.fromtimestamp(max(state.wake_at or 0, time.time()), UTC)
                self.timers.schedule(state.id, state.wake_token, at)

    async def shutdown(self) -> None:
        self.timers.shutdown()
        if self._db_pool is not None:
            self._db_pool.shutdown(wait=False)
            self._db_pool = None
        if self._own_http and isinstance(self.services.http, Guard):
            await self.services.http.aclose()

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(conversation_id, messages)` after every saved turn that sent something."""
        self._listeners.append(listener)

    # -- plans -----------------------------------------------------------------------------

    async def plan(self, flow_id: str, version: int | None) -> Plan:
        """The compiled plan of a published version (None: the latest; 0: the draft, uncached).

        Compiling reads the database and compiles every template of the flow (tens of milliseconds
        for a large one): done on a worker thread, so other conversations are not held meanwhile."""
        if version == DRAFT:
            return await asyncio.to_thread(self._compile_draft, flow_id)
        if version is None:
            try:
                version = self.flows.latest_version(flow_id)
            except FlowNotFound:
                if not self.interpreter.test_mode:
                    raise
                return await asyncio.to_thread(self._compile_draft, flow_id)
        key = (flow_id, version)
        found = self._plans.get(key)
        if found is not None:
            self._plans.move_to_end(key)
            return found
        plan = await asyncio.to_thread(self._compile_version, flow_id, version)
        self._plans[key] = plan
        if len(self._plans) > self._plan_cache_size:
            self._plans.popitem(last=False)
        return plan

    def _compile_draft(self, flow_id: str) -> Plan:
        return compile_flow(self.flows.draft(flow_id), self.registry, DRAFT)

    def _compile_version(self, flow_id: str, version: int) -> Plan:
        return compile_flow(self.flows.version(flow_id, version).flow, self.registry, version)

    # -- conversations ---------------------------------------------------------------------

    async def start(
        self,
        flow_id: str,
        *,
        version: int | None = None,
        user_id: str = "",
        channel: str = "api",
        account: str = "default",
        variables: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        inbound: Inbound | None = None,
        also: Also | None = None,
    ) -> tuple[str, list[Outbound]]:
        """Begin a conversation on a flow version (the latest published by default). `inbound` is
        the message that started it (a channel's first message): kept in the transcript, and its
        event id remembered, so the same event handled again is known as this turn's. `also` runs
        last in the turn's transaction (see ConversationStore.save_turn)."""
        plan = await self.plan(flow_id, version)
        cid = conversation_id or uuid.uuid4().hex
        state = ConversationState(
            id=cid,
            flow_id=flow_id,
            version=plan.version,
            channel=channel,
            account=account,
            user_id=user_id,
        )
        state.vars = dict(variables or {})
        state.vars.setdefault("user", {"id": user_id})
        async with self._lock(cid):
            try:
                return cid, await self._turn(state, Start(), inbound, also)
            except _Retry:
                raise ConversationExists(f"A conversation {cid!r} exists already.") from None

    async def send(
        self, conversation_id: str, inbound: Inbound, *, restart_on: int | None = None, also: Also | None = None
    ) -> list[Outbound]:
        """The user said something: answer it (once, even if the same event comes again).

        A conversation that has ended starts again on `restart_on` (a channel's deployed version),
        else on the latest published version. `also` runs last in the transaction of the turn that
        answers it (not at all if it was answered before)."""
        async with self._lock(conversation_id):
            for _ in range(MAX_ATTEMPTS):
                state = await self._load(conversation_id, inbound.event_id)
                if state.seen_turn is not None:
                    self._cache_put(state)
                    return await self.io(self.store.replies, state.id, state.seen_turn)
                event: Event | _Note
                if state.status == "waiting":
                    event = Reply(inbound)
                elif state.status == "sleeping":
                    if state.wake_token and state.wake_at and state.wake_at < time.time() - self.timers.misfire_grace:
                        event = Wake(state.wake_token)  # its timer was dropped as too late: resume now
                    else:
                        event = _Note()
                else:  # ended, failed, new: a new message starts the flow again, on its latest version
                    again = restart_on if restart_on is not None else None if state.version != DRAFT else DRAFT
                    plan = await self.plan(state.flow_id, again)
                    state.version, state.vars = plan.version, {"user": state.vars.get("user", {})}
                    event = Start()
                try:
                    return await self._turn(state, event, inbound, also)
                except _Retry:
                    continue
        raise Busy(f"The conversation {conversation_id!r} is too busy; try again.")

    async def wake(self, conversation_id: str, token: str) -> None:
        """A timer fired: continue the conversation if it still waits for this timer."""
        async with self._lock(conversation_id):
            for _ in range(MAX_ATTEMPTS):
                state = self._cache.pop(conversation_id, None) or await self.io(self.store.load, conversation_id)
                if state is None or state.wake_token != token:
                    if state is not None:
                        self._cache_put(state)
                    return
                try:
                    await self._turn(state, Wake(token), None)
                    return
                except _Retry:
                    continue
        raise Busy(f"The conversation {conversation_id!r} is too busy; its timer was not handled.")

    async def move(self, flow_id: str, version: int, *, channel: str, account: str) -> tuple[int, int]:
        """Move the running conversations of a channel account to another published version of
        their flow: each continues at the step it waits at, if that version has the same step (same
        id and type) and it is not inside a sub-flow. The others finish on their version (a step
        that is gone cannot be continued, and ending them would lose what they said). Returns
        (moved, stayed)."""
        plan = await self.plan(flow_id, version)
        moved = stayed = 0
        for state in self.store.running(flow_id, channel, account, not_version=version):
            async with self._lock(state.id):
                target = plan.nodes.get(state.node or "")
                try:
                    current = (await self.plan(flow_id, state.version)).nodes.get(state.node or "")
                except (FlowNotFound, FlowInvalid):
                    current = None
                same = target is not None and current is not None and target.type.type == current.type.type
                if not same or state.stack or state.at_flow != flow_id:
                    stayed += 1
                    continue
                self._cache.pop(state.id, None)
                if self.store.move(state, version):
                    moved += 1
                else:
                    stayed += 1
        return moved, stayed

    async def _load(self, conversation_id: str, event_id: str | None = None) -> ConversationState:
        state = self._cache.pop(conversation_id, None)
        if state is not None:
            state.seen_turn = next((t for e, t in state.events if e == event_id), None) if event_id else None
            return state
        state = await self.io(self.store.load, conversation_id, event_id)
        if state is None:
            raise ConversationNotFound(f"There is no conversation {conversation_id!r}.")
        return state

    def forget_cached(self, conversation_ids: Sequence[str]) -> None:
        """Drop conversations from this process's cache (they were erased)."""
        for cid in conversation_ids:
            self._cache.pop(cid, None)

    def _cache_put(self, state: ConversationState) -> None:
        if self._cache_size:
            self._cache[state.id] = state
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        return lock

    async def _turn(
        self, state: ConversationState, event: Event | _Note, inbound: Inbound | None, also: Also | None = None
    ) -> list[Outbound]:
        """Run one event and save everything it produced, or nothing but the fallback."""
        old_token, seq = state.wake_token, state.seq
        answered = state.node if inbound is not None else None
        if isinstance(event, _Note):
            outcome = Outcome()
        else:
            try:
                outcome = await self.interpreter.advance(state, event)
            except (TurnError, LookupError) as exc:
                return await self._fail(
                    state.id, seq, inbound, exc, new=isinstance(event, Start) and seq == 0, template=state, also=also
                )
        if outcome.timer is not None and state.wake_token:
            delay = outcome.timer * self.wait_scale
            state.wake_at = time.time() + delay
            self.timers.schedule(state.id, state.wake_token, datetime.fromtimestamp(state.wake_at, UTC))
        if inbound is not None and inbound.event_id is not None:
            state.events = [*state.events[-(RECENT_EVENTS - 1) :], (inbound.event_id, seq + 1)]
        try:
            await self.io(
                self.store.save_turn, state, inbound=inbound, outbound=outcome.messages, answered=answered, also=also
            )
        except Duplicate:
            self._drop_timer(state)
            assert inbound is not None and inbound.event_id is not None
            found = await self.io(self.store.turn_of_event, state.id, state.channel, state.account, inbound.event_id)
            return await self.io(self.store.replies, state.id, found) if found else []
        except Conflict:
            self._drop_timer(state)
            raise _Retry() from None
        if old_token and old_token != state.wake_token:
            self.timers.cancel(state.id, old_token)
        self._cache_put(state)
        sent = [m for _, m in outcome.messages]
        self._notify(state.id, sent)
        return sent

    async def _fail(
        self,
        cid: str,
        seq: int,
        inbound: Inbound | None,
        exc: Exception,
        *,
        new: bool,
        template: ConversationState,
        also: Also | None,
    ) -> list[Outbound]:
        """Keep the conversation as it was before the turn; record the inbound and a polite reply."""
        node_id = getattr(exc, "node_id", None)
        log.error(
            "turn failed: %s",
            exc,
            extra={"flow_id": getattr(exc, "flow_id", template.flow_id), "node_id": node_id, "conversation_id": cid},
        )
        if new:
            state = ConversationState(
                id=cid,
                flow_id=template.flow_id,
                version=template.version,
                channel=template.channel,
                account=template.account,
                user_id=template.user_id,
                status="failed",
            )
            state.vars = {"user": template.vars.get("user", {})}
        else:
            loaded = await self.io(self.store.load, cid)
            if loaded is None or loaded.seq != seq:
                raise _Retry()
            state = loaded
        reply = Outbound(self.fallback_text)
        try:
            outbound = [(node_id, reply)]
            await self.io(
                self.store.save_turn, state, inbound=inbound, outbound=outbound, answered=state.node, also=also
            )
        except Duplicate:
            return []
        except Conflict:
            raise _Retry() from None
        self._notify(cid, [reply])
        return [reply]

    def _drop_timer(self, state: ConversationState) -> None:
        if state.wake_token:
            self.timers.cancel(state.id, state.wake_token)

    def _notify(self, cid: str, messages: list[Outbound]) -> None:
        if not messages:
            return
        for listener in self._listeners:
            try:
                listener(cid, messages)
            except Exception:
                log.exception("message listener failed (conversation %s)", cid)


class _Note:
    """An inbound message that only goes into the transcript (the conversation is sleeping)."""


class _Retry(Exception):
    """The conversation changed under us; load it again and redo the turn."""

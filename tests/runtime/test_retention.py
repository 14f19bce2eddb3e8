"""Retention deletes conversations idle past the period (and nothing else); masking hides emails,
phone numbers and card numbers in stored transcripts while the flow keeps working."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine

from flows.document import flow_from_data
from nodes.api import Inbound
from nodes.registry import Registry
from runtime.audit import SYSTEM, AuditLog
from runtime.engine import Runtime
from runtime.masking import mask
from runtime.retention import DAY, Retention
from runtime.store import CONV, TURN
from tests.runtime.test_accounts import Clock

FLOW = {
    "id": "signup",
    "name": "Sign-up",
    "start": "s",
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {"id": "mail", "type": "input.email", "settings": {"prompt": "Your email?", "save_as": "email"}},
        {"id": "wait", "type": "flow.wait", "settings": {"amount": 2, "unit": "days"}},
        {"id": "end", "type": "flow.end", "settings": {"message": "We'll write to {{ email }}."}},
    ],
    "edges": [
        {"id": "e1", "source": "s", "target": "mail"},
        {"id": "e2", "source": "mail", "source_port": "valid", "target": "wait"},
        {"id": "e3", "source": "wait", "target": "end"},
    ],
}


@pytest.fixture
async def runtime(engine: Engine, builtins: Registry) -> Runtime:
    rt = Runtime(engine, builtins)
    rt.flows.save_draft(flow_from_data(FLOW))
    rt.flows.publish("signup", builtins)
    await rt.startup()
    yield rt  # type: ignore[misc]
    await rt.shutdown()


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("write to Ann.Lee+bots@example.co.uk please", "write to [email] please"),
        ("my card is 4111 1111 1111 1111", "my card is [card number]"),
        ("call +44 20 7946 0958 or 020-7946-0958", "call [phone number] or [phone number]"),
        ("order A1001, 3 items, 12 euros", "order A1001, 3 items, 12 euros"),  # not personal: kept
        ("tracking 1234 5678 9012 3456", "tracking [phone number]"),  # not a card (Luhn), but a long number
    ],
)
def test_what_masking_hides(said: str, stored: str) -> None:
    assert mask(said) == stored


async def test_a_masked_transcript_and_a_flow_that_still_works(runtime: Runtime) -> None:
    Retention(runtime).configure(0, True)
    cid, _ = await runtime.start("signup", user_id="ann")
    await runtime.send(cid, Inbound(text="ann@example.com"))
    state = runtime.store.load(cid)
    assert state is not None and state.vars["email"] == "ann@example.com"  # the flow has the real value
    lines = [m.payload.get("text") for m in runtime.store.messages(cid)]
    assert "[email]" in lines and "ann@example.com" not in json.dumps(lines)
    with runtime.engine.connect() as conn:
        assert "ann@example.com" not in str(conn.execute(select(TURN)).all())


async def test_a_sweep_deletes_only_what_is_past_the_period(runtime: Runtime, engine: Engine) -> None:
    clock = Clock()
    retention = Retention(runtime, clock=clock)
    old, _ = await runtime.start("signup", user_id="old")
    await runtime.send(old, Inbound(text="old@example.com"))  # now waiting two days on a timer
    recent, _ = await runtime.start("signup", user_id="recent")
    with engine.begin() as conn:
        conn.execute(update(CONV).where(CONV.c.id == old).values(updated_at=clock.now - 31 * DAY))
        conn.execute(update(CONV).where(CONV.c.id == recent).values(updated_at=clock.now - 29 * DAY))
    assert await retention.sweep() == {}  # no period set: nothing goes
    assert runtime.timers.pending() == 1
    retention.configure(30, False)
    counts = await retention.sweep()
    assert counts["conversations"] == 1 and counts["transcript turns"] == 2
    assert runtime.store.load(old) is None and runtime.store.load(recent) is not None
    assert runtime.timers.pending() == 0  # the old conversation's wake-up went with it
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TURN).where(TURN.c.conversation_id == old)).scalar() == 0
    [entry] = AuditLog(engine).entries(action="retention")
    assert entry.actor == SYSTEM and entry.detail["days"] == 30 and old not in json.dumps(entry.to_json())
    assert not any((await retention.sweep()).values())  # run again (e.g. after a crash): nothing left to do


def test_a_period_out_of_range_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="between 1 and 36,500 days"):
        Retention(runtime).configure(-1, False)
    assert Retention(runtime).settings().days == 0


async def test_the_server_sweeps_on_its_own(runtime: Runtime, engine: Engine) -> None:
    from runtime.api import create_app

    Retention(runtime).configure(1, True)
    app = create_app(runtime)
    cid, _ = await runtime.start("signup", user_id="ann")
    with engine.begin() as conn:
        conn.execute(text("UPDATE conversations SET updated_at = 0"))
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if runtime.store.load(cid) is None:
                break
            await asyncio.sleep(0.05)
    assert runtime.store.load(cid) is None

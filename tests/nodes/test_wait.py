from datetime import datetime, timedelta

import pytest

from nodes.api import Inbound, NodeContext, Services
from nodes.control.wait import NODE


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, 0)

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize(
    ("amount", "unit", "seconds"),
    [(30, "seconds", 30), (2, "minutes", 120), (1.5, "hours", 5400), (1, "days", 86400)],
)
async def test_first_visit_sleeps_for_the_duration(amount, unit, seconds):
    step = await NODE.run(NodeContext(), NODE.parse({"amount": amount, "unit": unit}, 1))
    assert step.wait == "timer"
    assert step.delay == seconds
    assert step.messages == ()


async def test_sends_the_message_before_waiting_then_continues_when_woken():
    settings = NODE.parse({"amount": 10, "unit": "minutes", "message": "Back in 10, {{ name }}"}, 1)
    memory: dict = {}
    first = await NODE.run(NodeContext(vars={"name": "Ada"}, memory=memory), settings)
    assert [m.text for m in first.messages] == ["Back in 10, Ada"]
    woke = await NODE.run(NodeContext(woke=True, memory=memory), settings)
    assert woke.port == "out"
    assert woke.messages == ()


async def test_a_message_during_the_wait_does_not_restart_it():
    clock = Clock()
    services = Services(clock=clock)
    settings = NODE.parse({"amount": 10, "unit": "minutes", "message": "Wait please"}, 1)
    memory: dict = {}
    await NODE.run(NodeContext(memory=memory, services=services), settings)
    clock.now += timedelta(minutes=4)
    step = await NODE.run(NodeContext(inbound=Inbound(text="hello?"), memory=memory, services=services), settings)
    assert step.wait == "timer"
    assert step.delay == pytest.approx(6 * 60)
    assert step.messages == ()


def test_waits_for_time_and_refuses_silly_durations():
    assert NODE.waits
    assert NODE.inspect({"amount": 0}, 1).errors
    assert NODE.inspect({"amount": 400, "unit": "days"}, 1).errors
    assert NODE.inspect({"amount": 3, "unit": "weeks"}, 1).errors
    assert NODE.inspect({"amount": 3, "unit": "days"}, 1).errors == []

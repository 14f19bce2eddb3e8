"""A node just dropped on the canvas, settings not filled in yet, still shows the ports it will have."""

from __future__ import annotations

from nodes.registry import Registry


def test_unfilled_questions_show_their_exits(builtins: Registry) -> None:
    text = builtins.get("input.text")
    assert text is not None
    inspection = text.inspect({}, 1)
    assert inspection.errors  # the question is still to be written...
    assert inspection.outputs == ["valid", "invalid"]  # ...but it can be joined up already
    yesno = builtins.get("input.yesno")
    assert yesno is not None and yesno.inspect({}, 1).outputs == ["yes", "no", "invalid"]


def test_a_port_function_that_needs_real_settings_gives_no_ports_rather_than_failing(builtins: Registry) -> None:
    condition = builtins.get("logic.condition")
    assert condition is not None
    assert condition.inspect({"branches": "not a list"}, 1).outputs == []

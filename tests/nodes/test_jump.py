from nodes.api import NodeContext
from nodes.control.jump import NODE


async def test_continues_at_the_target_step():
    step = await NODE.run(NodeContext(), NODE.parse({"target": "ask-email"}, 1))
    assert step.goto == "ask-email"
    assert step.port is None and not step.end


def test_reports_its_target_as_a_link_for_reachability():
    found = NODE.inspect({"target": "n7"}, 1)
    assert found.links == ["n7"]
    assert found.outputs == []
    assert found.errors == []


def test_a_missing_target_is_a_problem():
    assert NODE.inspect({}, 1).errors
    assert NODE.inspect({"target": ""}, 1).errors

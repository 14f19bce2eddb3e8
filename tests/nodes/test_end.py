from nodes.api import NodeContext
from nodes.control.end import NODE


async def run(settings: dict, **vars: object):
    return await NODE.run(NodeContext(vars=dict(vars)), NODE.parse(settings, 1))


async def test_ends_with_a_filled_in_closing_message():
    step = await run({"message": "Thanks {{ name }}, bye!"}, name="Ada")
    assert step.end
    assert [m.text for m in step.messages] == ["Thanks Ada, bye!"]
    assert step.port is None


async def test_ends_silently_without_a_message_or_when_it_fills_in_to_nothing():
    for settings in ({}, {"message": "{{ missing }}"}):
        step = await run(settings)
        assert step.end
        assert step.messages == ()


def test_has_no_exits_and_ends_the_conversation():
    assert NODE.terminal
    assert NODE.output_ports(NODE.parse({}, 1)) == []
    assert NODE.inspect({"message": "{{ broken"}, 1).errors

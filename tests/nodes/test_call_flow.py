from nodes.api import NodeContext
from nodes.control.call_flow import NODE


async def test_asks_the_runtime_to_run_the_other_flow_with_shared_variables():
    settings = NODE.parse({"flow_id": "checkout", "share": ["cart", "email", "cart"]}, 1)
    step = await NODE.run(NodeContext(vars={"cart": [1]}), settings)
    assert step.call is not None
    assert step.call.flow_id == "checkout"
    assert step.call.share == ("cart", "email")  # a name listed twice is shared once
    assert step.port is None


def test_continues_by_out_or_error():
    assert NODE.inspect({"flow_id": "checkout"}, 1).outputs == ["out", "error"]


def test_bad_settings_are_reported():
    assert NODE.inspect({}, 1).errors
    assert NODE.inspect({"flow_id": "checkout", "share": ["not a name"]}, 1).errors

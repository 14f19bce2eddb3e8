import pytest

from flows.expressions import ExpressionError
from nodes.api import NodeContext
from nodes.logic.set_variable import NODE


async def assign(*pairs: tuple[str, str], **vars: object) -> dict:
    settings = NODE.parse({"assignments": [{"variable": v, "expression": e} for v, e in pairs]}, 1)
    ctx = NodeContext(vars=dict(vars))
    step = await NODE.run(ctx, settings)
    assert step.port == "out"
    return ctx.vars


@pytest.mark.parametrize(
    ("expression", "vars", "value"),
    [
        ("score + 1", {"score": 4}, 5),
        ("name | upper", {"name": "ada"}, "ADA"),
        ("items | length", {"items": [1, 2, 3]}, 3),
        ("'hello ' ~ name", {"name": "Ada"}, "hello Ada"),
        ("items | map('upper') | list", {"items": ["a", "b"]}, ["A", "B"]),
        ("items | map('upper')", {"items": ["a", "b"]}, ["A", "B"]),  # a lazy result is kept as a list
        ("{'plan': plan, 'n': 2}", {"plan": "pro"}, {"plan": "pro", "n": 2}),
        ("missing", {}, None),
    ],
)
async def test_computes_values(expression, vars, value):
    assert (await assign(("out", expression), **vars))["out"] == value


async def test_later_lines_see_earlier_results():
    result = await assign(("total", "price * qty"), ("label", "'Total: ' ~ total"), price=3, qty=4)
    assert result["total"] == 12
    assert result["label"] == "Total: 12"


async def test_a_failing_line_changes_nothing():
    ctx = NodeContext(vars={"score": 1})
    settings = NODE.parse(
        {"assignments": [{"variable": "score", "expression": "score + 1"}, {"variable": "x", "expression": "1 / 0"}]},
        1,
    )
    with pytest.raises(ExpressionError):
        await NODE.run(ctx, settings)
    assert ctx.vars == {"score": 1}


@pytest.mark.parametrize(
    "expression",
    [
        "().__class__.__mro__",
        "().__class__.__mro__[1].__subclasses__()",
        "cycler.__init__.__globals__",
        "name.__class__.__init__.__globals__",
        "'a' * 10**9",
        "10 ** 100000",
        "range(10**9) | list",
        "items.append(1)",
        "'%s'.format",  # a function cannot be kept in a variable
    ],
)
async def test_escapes_and_huge_work_are_refused(expression):
    with pytest.raises(ExpressionError):
        await assign(("x", expression), name="Ada", items=[])


def test_outputs_and_problems():
    assert NODE.inspect({"assignments": [{"variable": "a", "expression": "1"}]}, 1).outputs == ["out", "error"]
    for bad in (
        {"assignments": []},
        {"assignments": [{"variable": "a", "expression": "1 +"}]},
        {"assignments": [{"variable": "a", "expression": "{{ score }} + 1"}]},
        {"assignments": [{"variable": "not a name", "expression": "1"}]},
    ):
        assert NODE.inspect(bad, 1).errors, bad

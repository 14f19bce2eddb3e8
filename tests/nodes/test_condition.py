import pytest

from flows.expressions import ExpressionError
from nodes.api import NodeContext
from nodes.logic.condition import NODE

NPS = {
    "branches": [
        {"port": "promoter", "rules": [{"left": "{{ score }}", "op": "greater_or_equal", "right": "9"}]},
        {"port": "passive", "rules": [{"left": "{{ score }}", "op": "greater_or_equal", "right": "7"}]},
    ]
}


async def route(settings: dict, **vars: object) -> str | None:
    return (await NODE.run(NodeContext(vars=dict(vars)), NODE.parse(settings, 1))).port


def rule(left: str, op: str, right: str = "") -> dict:
    return {"branches": [{"port": "yes", "rules": [{"left": left, "op": op, "right": right}]}]}


@pytest.mark.parametrize(("score", "port"), [(10, "promoter"), ("9", "promoter"), (8, "passive"), (3, "else")])
async def test_first_branch_that_holds_wins_else_else(score, port):
    assert await route(NPS, score=score) == port


async def test_a_missing_value_is_not_less_than_a_number():
    settings = rule("{{ score }}", "less_than", "5")
    assert await route(settings) == "else"
    assert await route(settings, score=4) == "yes"


@pytest.mark.parametrize(
    ("left", "op", "right", "vars", "holds"),
    [
        ("{{ n }}", "equals", "10", {"n": 10.0}, True),  # numbers compare as numbers
        ("{{ n }}", "greater_than", "9", {"n": "10"}, True),  # "10" > "9" numerically, not alphabetically
        ("{{ answer }}", "equals", "yes", {"answer": " YES "}, True),  # text ignores case and spaces
        ("{{ answer }}", "not_equals", "yes", {"answer": "no"}, True),
        ("{{ day }}", "less_than", "2024-06-01", {"day": "2024-05-31"}, True),  # ISO dates order as text
        ("{{ text }}", "contains", "refund", {"text": "I want a REFUND now"}, True),
        ("{{ tags }}", "contains", "vip", {"tags": ["new", "VIP"]}, True),  # a list: one of its items
        ("{{ tags }}", "contains", "vi", {"tags": ["new", "VIP"]}, False),
        ("{{ text }}", "not_contains", "refund", {"text": "hello"}, True),
        ("{{ email }}", "ends_with", "@example.com", {"email": "a@Example.com"}, True),
        ("{{ email }}", "starts_with", "a@", {"email": "b@x"}, False),
        ("{{ code }}", "matches_regex", r"^[A-Z]{2}\d{3}$", {"code": "AB123"}, True),
        ("{{ code }}", "matches_regex", r"^[A-Z]{2}\d{3}$", {"code": "ab123"}, False),
        ("{{ missing }}", "is_empty", "", {}, True),
        ("{{ items }}", "is_empty", "", {"items": []}, True),
        ("{{ name }}", "is_not_empty", "", {"name": "Ada"}, True),
        ("{{ first }} {{ last }}", "equals", "ada lovelace", {"first": "Ada", "last": "Lovelace"}, True),
        ("{{ a }}", "equals", "{{ b }}", {"a": "x", "b": "X"}, True),
    ],
)
async def test_comparisons(left, op, right, vars, holds):
    assert await route(rule(left, op, right), **vars) == ("yes" if holds else "else")


async def test_any_and_all():
    rules = [
        {"left": "{{ country }}", "op": "equals", "right": "FR"},
        {"left": "{{ country }}", "op": "equals", "right": "BE"},
    ]
    any_ = {"branches": [{"port": "french", "match": "any", "rules": rules}]}
    all_ = {"branches": [{"port": "french", "match": "all", "rules": rules}]}
    assert await route(any_, country="be") == "french"
    assert await route(all_, country="be") == "else"


async def test_expression_counts_as_one_more_rule():
    settings = {
        "branches": [
            {
                "port": "vip",
                "rules": [{"left": "{{ plan }}", "op": "equals", "right": "pro"}],
                "expression": "orders | length >= 3",
            }
        ]
    }
    assert await route(settings, plan="pro", orders=[1, 2, 3]) == "vip"
    assert await route(settings, plan="pro", orders=[1]) == "else"
    assert await route({"branches": [{"port": "big", "expression": "total > 100"}]}, total=150) == "big"


async def test_an_empty_branch_is_never_taken_and_is_reported():
    settings = {"branches": [{"port": "oops"}]}
    assert await route(settings) == "else"
    assert NODE.inspect(settings, 1).errors


@pytest.mark.parametrize(
    "expression", ["().__class__.__mro__", "cycler.__init__.__globals__", "'a' * 10**9", "10 ** 100000"]
)
async def test_escapes_and_huge_work_are_refused(expression):
    with pytest.raises(ExpressionError):
        await route({"branches": [{"port": "x", "expression": expression}]})
    with pytest.raises(ExpressionError):
        await route(rule("{{ " + expression + " }}", "equals", "1"))


def test_outputs_follow_the_branches():
    assert NODE.inspect(NPS, 1).outputs == ["promoter", "passive", "else"]


@pytest.mark.parametrize(
    "branches",
    [
        [{"port": "a", "expression": "x > 1"}, {"port": "a", "expression": "x > 2"}],  # duplicate exit
        [{"port": "else", "expression": "x > 1"}],  # reserved
        [{"port": "a", "rules": [{"left": "{{ x }}", "op": "matches_regex", "right": "(unclosed"}]}],
        [{"port": "a", "expression": "x >"}],  # does not parse
        [{"port": "a", "expression": "{{ x }} > 1"}],  # braces in an expression
        [{"port": "Not Valid", "expression": "x > 1"}],
    ],
)
def test_problems_are_reported(branches):
    assert NODE.inspect({"branches": branches}, 1).errors


def test_summary_lists_the_branches():
    assert NODE.summary is not None
    text = NODE.summary(NODE.parse(NPS, 1))
    assert "score ≥ 9 → promoter" in text
    assert "score ≥ 7 → passive" in text
    assert text.endswith("else")


async def test_a_catastrophic_pattern_answers_at_once_on_a_long_hostile_answer():
    """`^(a+)+$` against 27 characters held the server for 2.6 s (Python's re backtracks, doubling
    per character); patterns now run in RE2, in time linear in the answer."""
    settings = rule("{{ answer }}", "matches_regex", "^(a+)+$")
    assert await route(settings, answer="a" * 50_000 + "!") == "else"
    assert await route(settings, answer="a" * 50_000) == "yes"
    nested = rule("{{ answer }}", "matches_regex", "^(x+x+)+y$")
    assert await route(nested, answer="x" * 50_000) == "else"


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=a)a", "(?<!a)b"])
async def test_patterns_that_need_backtracking_are_refused_when_the_flow_is_checked(pattern):
    problems = NODE.inspect(rule("{{ answer }}", "matches_regex", pattern), 1).errors
    assert any("not supported" in p for p in problems), problems


async def test_a_pattern_filled_in_from_a_variable_is_checked_when_it_runs():
    settings = rule("{{ answer }}", "matches_regex", "{{ pattern }}")
    assert NODE.inspect(settings, 1).errors == []
    with pytest.raises(ExpressionError, match="not supported"):
        await route(settings, answer="aa", pattern="(a)\\1")

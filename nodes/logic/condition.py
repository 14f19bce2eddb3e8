"""logic.condition: send the conversation one way or another, depending on variables.

How values compare (the choice users see in the op descriptions):
- Each side is a template. A side that is exactly one placeholder, like ``{{ tags }}``, keeps its
  value as is (a number stays a number, a list stays a list); anything else is text.
- When both sides read as numbers ("9", "9.0", 9) they compare as numbers: "10" is greater than "9".
- Otherwise text compares without regard to case or surrounding spaces: "Yes" equals " yes".
- "greater"/"less" on text compare alphabetically, which also orders dates written 2024-05-31;
  with an empty side they are false, so a missing answer is never "less than 5".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from flows.expressions import ExpressionError, check_expression, has_template
from flows.patterns import PatternError, check_pattern, search
from nodes.api import NodeContext, NodeType, Step
from nodes.registry import PORT_NAME

ELSE = "else"
RESERVED = (ELSE, "error")  # "error" is where the runtime sends failures

Op = Literal[
    "equals",
    "not_equals",
    "greater_than",
    "greater_or_equal",
    "less_than",
    "less_or_equal",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "matches_regex",
    "is_empty",
    "is_not_empty",
]
UNARY = ("is_empty", "is_not_empty")
SYMBOLS: Mapping[str, str] = {
    "equals": "=",
    "not_equals": "≠",
    "greater_than": ">",
    "greater_or_equal": "≥",
    "less_than": "<",
    "less_or_equal": "≤",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "matches_regex": "matches",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
}
# how a rule reads on the canvas card: “score is at least 9”
WORDS: Mapping[str, str] = {
    "equals": "is",
    "not_equals": "is not",
    "greater_than": "is more than",
    "greater_or_equal": "is at least",
    "less_than": "is less than",
    "less_or_equal": "is at most",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "matches_regex": "matches the pattern",
    "is_empty": "is empty",
    "is_not_empty": "is filled in",
}
_SINGLE_PLACEHOLDER = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)+)\}\}\s*$", re.DOTALL)


class Rule(BaseModel):
    """One comparison, such as {{ score }} ≥ 9."""

    left: str = Field(max_length=1000, title="Value", description="What to check, such as {{ score }}.")
    op: Op = Field(
        "equals",
        json_schema_extra={"labels": dict(WORDS)},
        title="Check",
        description="Numbers compare as numbers; text compares ignoring upper/lower case and spaces around it.",
    )
    right: str = Field(
        "",
        max_length=1000,
        title="Compared with",
        description="Text, a number or {{ a variable }}. Not used by “is empty”. "
        "For “matches pattern”, a regular expression.",
    )


class Branch(BaseModel):
    """One way out of the condition, taken when its rules hold."""

    port: str = Field(
        pattern=PORT_NAME.pattern,
        max_length=40,
        title="Exit name",
        description="Short lower-case name of this way out, such as “promoter”.",
    )
    label: str = Field("", max_length=100, title="Label", description="Shown on the canvas.")
    match: Literal["all", "any"] = Field(
        "all",
        title="Rules that must hold",
        description="Every rule, or at least one of them.",
        json_schema_extra={"labels": {"all": "every rule", "any": "at least one rule"}},
    )
    rules: list[Rule] = Field(default_factory=list, max_length=50, title="Rules")
    expression: str = Field(
        "",
        max_length=2000,
        title="Expression (advanced)",
        description="Optional, counts as one more rule, such as score >= 9 and answer | lower == 'yes'. "
        "Written without {{ }}.",
    )


class ConditionSettings(BaseModel):
    """Settings of a condition: branches are tried from top to bottom; the first that holds wins."""

    branches: list[Branch] = Field(
        min_length=1,
        max_length=20,
        title="Branches",
        description="Tried from top to bottom; the first that holds is taken, otherwise “else”.",
    )

    def problems(self) -> list[str]:
        out = []
        seen: set[str] = set()
        for n, branch in enumerate(self.branches, 1):
            name = f"Branch {n} (“{branch.port}”)"
            if branch.port in RESERVED:
                out.append(f"{name}: “{branch.port}” is reserved; choose another exit name.")
            elif branch.port in seen:
                out.append(f"{name}: another branch already uses this exit name.")
            seen.add(branch.port)
            if not branch.rules and not branch.expression.strip():
                out.append(f"{name} has no rules, so it can never be taken.")
            if branch.expression.strip():
                if "{{" in branch.expression:
                    out.append(f"{name}: write the expression without {{{{ }}}}, for example score >= 9.")
                elif (reason := check_expression(branch.expression)) is not None:
                    out.append(f"{name}: {reason}")
            for rule in branch.rules:
                literal = rule.op == "matches_regex" and not has_template(rule.right)
                if literal and (reason := check_pattern(rule.right)) is not None:
                    out.append(f"{name}: {reason}")
        return out


def _value(ctx: NodeContext, side: str) -> Any:
    """The side's value: typed when it is a single placeholder, text otherwise."""
    m = _SINGLE_PLACEHOLDER.match(side)
    return ctx.evaluate(m["expr"]) if m else ctx.render(side)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):  # True is not 1 to a person writing a flow
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 9.0 from a calculation reads as "9"
    return str(value).strip()


def _is_empty(value: Any) -> bool:
    if isinstance(value, (list, tuple, set, dict)):
        return not value
    return _text(value) == ""


def _same(a: Any, b: Any) -> bool:
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return _text(a).casefold() == _text(b).casefold()


def _order(a: Any, b: Any, test: Callable[[Any, Any], bool]) -> bool:
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return test(na, nb)
    ta, tb = _text(a).casefold(), _text(b).casefold()
    return bool(ta and tb) and test(ta, tb)


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple, set)):
        return any(_same(item, b) for item in a)
    if isinstance(a, dict):
        return any(_same(key, b) for key in a)
    return _text(b).casefold() in _text(a).casefold()


def _matches(text: str, pattern: str) -> bool:
    try:
        return search(pattern, text)
    except PatternError as exc:  # a pattern filled in from a variable, known only now: never quoted
        raise ExpressionError(f"The pattern cannot be used: {exc.reason}.") from None


def compare(left: Any, op: str, right: Any) -> bool:
    """Whether `left op right` holds, with the rules described at the top of this module."""
    match op:
        case "equals":
            return _same(left, right)
        case "not_equals":
            return not _same(left, right)
        case "greater_than":
            return _order(left, right, lambda a, b: a > b)
        case "greater_or_equal":
            return _order(left, right, lambda a, b: a >= b)
        case "less_than":
            return _order(left, right, lambda a, b: a < b)
        case "less_or_equal":
            return _order(left, right, lambda a, b: a <= b)
        case "contains":
            return _contains(left, right)
        case "not_contains":
            return not _contains(left, right)
        case "starts_with":
            return _text(left).casefold().startswith(_text(right).casefold())
        case "ends_with":
            return _text(left).casefold().endswith(_text(right).casefold())
        case "matches_regex":
            # The pattern is used as written (case-sensitive unless it starts with (?i)), by RE2:
            # linear time whatever the pattern, so `^(a+)+$` cannot stall the server.
            return _matches(_text(left), _text(right))
        case "is_empty":
            return _is_empty(left)
        case "is_not_empty":
            return not _is_empty(left)
    raise ValueError(f"unknown comparison {op!r}")


def _rule_holds(ctx: NodeContext, rule: Rule) -> bool:
    right = None if rule.op in UNARY else _value(ctx, rule.right)
    return compare(_value(ctx, rule.left), rule.op, right)


def _checks(ctx: NodeContext, branch: Branch) -> Iterator[bool]:
    # A generator, so "all"/"any" stop at the first rule that decides (later ones are not evaluated).
    for rule in branch.rules:
        yield _rule_holds(ctx, rule)
    if branch.expression.strip():
        yield bool(ctx.evaluate(branch.expression))


def holds(ctx: NodeContext, branch: Branch) -> bool:
    """Whether the branch's rules (and expression) hold; errors in them raise ExpressionError."""
    if not branch.rules and not branch.expression.strip():
        return False  # an empty branch is a mistake (problems() says so), not a catch-all
    return (all if branch.match == "all" else any)(_checks(ctx, branch))


async def run(ctx: NodeContext, settings: ConditionSettings) -> Step:
    for branch in settings.branches:
        if holds(ctx, branch):
            return Step.next(branch.port)
    return Step.next(ELSE)


def _describe_rule(rule: Rule, words: Mapping[str, str] = SYMBOLS) -> str:
    m = _SINGLE_PLACEHOLDER.match(rule.left)
    left = m["expr"].strip() if m else rule.left
    if rule.op in UNARY:
        return f"{left} {words[rule.op]}"
    return f"{left} {words[rule.op]} {rule.right}"


def describe_branch(branch: Branch) -> str:
    """A branch in words, for its exit on the card: its label, else its rules (“score is at least 9”)."""
    if branch.label.strip():
        return branch.label.strip()
    tests = [_describe_rule(r, WORDS) for r in branch.rules]
    if branch.expression.strip():
        tests.append(branch.expression.strip())
    return (" and " if branch.match == "all" else " or ").join(tests) or "(no rules yet)"


def summary(settings: ConditionSettings) -> str:
    """One line for the canvas card, such as “score ≥ 9 → promoter; otherwise → else”."""
    parts = []
    for branch in settings.branches:
        tests = [_describe_rule(r) for r in branch.rules]
        if branch.expression.strip():
            tests.append(branch.expression.strip())
        joiner = " and " if branch.match == "all" else " or "
        parts.append(f"{joiner.join(tests) or branch.label or '(no rules)'} → {branch.port}")
    return "; ".join([*parts, f"otherwise → {ELSE}"])


NODE = NodeType(
    type="logic.condition",
    version=1,
    title="Condition",
    category="Logic",
    icon="call_split",
    description="Goes one way or another depending on variables; “else” when no branch holds.",
    settings=ConditionSettings,
    run=run,
    outputs=lambda s: [b.port for b in s.branches] + [ELSE],
    summary=summary,
    exits=lambda s: {**{b.port: describe_branch(b) for b in s.branches}, ELSE: "otherwise"},
)

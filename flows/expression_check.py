"""What a template or expression may say, checked on its syntax tree before anything runs.

The allowed language (docs/security.md shows it to authors):
- text with `{{ expression }}`, `{% if %}…{% elif %}…{% else %}…{% endif %}`,
  `{% for x in items %}…{% else %}…{% endfor %}` and `{% set name = expression %}`;
- expressions: variables and their fields (`user.name`, `items[0]`, `text[1:3]`), text, numbers,
  true/false/none, lists, dictionaries, `+ - * / // % **`, `~`, comparisons, `and or not`,
  `x if c else y`, `in`, filters (`| upper`) and tests (`is number`) from the allowlist, and
  calls of the allowlisted functions by name (`len(items)`);
- never: names or fields beginning with `_`, methods (`name.upper()`), macros, blocks, includes,
  imports, `{% set %}…{% endset %}`, recursive loops, `self`, `caller`, `%` on text.

A checked tree is then rewritten so that every loop goes through `values.iterate` (one budget step
a turn) and every `~` through `values.safe_concat` (length checked before the text is built).
"""

from __future__ import annotations

from jinja2 import nodes

from flows.expression_functions import FILTERS, FUNCTIONS, TESTS
from flows.sandbox import CONCAT, ITERATE
from flows.values import LOOP_FIELDS, MAX_INT_BITS, MAX_PATH_PARTS

_ALLOWED: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.If,
    nodes.For,
    nodes.Assign,
    nodes.Const,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Slice,
    nodes.Tuple,
    nodes.List,
    nodes.Dict,
    nodes.Pair,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Mod,
    nodes.Pow,
    nodes.Concat,
    nodes.Compare,
    nodes.Operand,
    nodes.CondExpr,
    nodes.Filter,
    nodes.Test,
    nodes.Call,
    nodes.Keyword,
)
_STATEMENTS = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.With: "{% with %}",
    nodes.Block: "{% block %}",
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.AssignBlock: "{% set %}…{% endset %}",
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
}
_SPECIAL_NAMES = frozenset({"self", "caller", "varargs", "kwargs", "loop", "super"})
_CONSTANTS = frozenset({"true", "false", "none", "True", "False", "None"})
# names `{{ name }}` does not read as a variable: the fast path leaves them to the language
NOT_VARIABLES = _SPECIAL_NAMES | _CONSTANTS | frozenset(FUNCTIONS)
MAX_NODES = 1_000  # parts of one template: compiling is not counted by the budget, so it is bounded here
MAX_DEPTH = 48  # nesting of expressions: Python's compiler stops at 200 nested parentheses
MAX_BLOCKS = 8  # {% for %} and {% if %} inside one another: Python stops at 20 nested blocks


class Refused(ValueError):
    """A construct the flow language does not have, said in words."""


def _name_of(node: nodes.Node) -> str:
    return getattr(node, "name", "") or type(node).__name__


def _check_name(node: nodes.Name, *, callee: bool, loop_field: bool) -> None:
    name = node.name
    if name.startswith("_"):
        raise Refused(f"“{name[:40]}” begins with “_”; flows can only read their own variables")
    if node.ctx != "load":
        return
    if name in _SPECIAL_NAMES and not (name == "loop" and loop_field):
        raise Refused(
            f"“{name}” is not available in flows"
            + (" (only loop.index, loop.first and the like)" if name == "loop" else "")
        )
    if name in FUNCTIONS and not callee:
        raise Refused(f"“{name}” is a function: call it, as in {name}(…)")


# filters that read a field of each item by a name given as text: map(attribute="user.name")
_ATTRIBUTE_FILTERS = frozenset({"map", "selectattr", "rejectattr", "sort", "unique", "min", "max", "sum", "dictsort"})


def _check_attribute_names(node: nodes.Filter | nodes.Test) -> None:
    named = [k.value for k in node.kwargs if k.key == "attribute"]
    given = [*node.args[:1], *named] if node.name in ("selectattr", "rejectattr") else named
    for arg in given:
        text = arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else ""
        if any(part.startswith("_") for part in text.split(".")):
            raise Refused(f"“{text[:40]}” begins with “_”; flows can only read their own variables")
        if text.count(".") >= MAX_PATH_PARTS:
            raise Refused(f"a field path may name at most {MAX_PATH_PARTS} fields")


def _limits(node: nodes.Node, depth: int, blocks: int) -> int:
    """The blocks around and including `node`; Refused past the nesting and number limits."""
    if depth > MAX_DEPTH:
        raise Refused("it is nested too deep; split it over several steps")
    if isinstance(node, (nodes.For, nodes.If)):
        blocks += 1
        if blocks > MAX_BLOCKS:
            raise Refused(f"it puts more than {MAX_BLOCKS} {{% for %}} and {{% if %}} inside one another")
    if isinstance(node, nodes.Const) and isinstance(node.value, int) and node.value.bit_length() > MAX_INT_BITS:
        raise Refused("a number in it is too large")
    kind = type(node)
    if kind in _STATEMENTS:
        raise Refused(f"{_STATEMENTS[kind]} is not available in flows")
    if not isinstance(node, _ALLOWED) or kind is nodes.NSRef:
        raise Refused(f"“{_name_of(node)}” is not available in flows")
    return blocks


def _check_getattr(node: nodes.Getattr) -> bool:
    """Whether it reads a field of `loop` (Refused for `_` names, `.format` and unknown loop fields)."""
    if node.attr.startswith("_"):
        raise Refused(f"“{node.attr[:40]}” begins with “_”; flows can only read their own variables")
    if node.attr in ("format", "format_map"):  # str.format reads attributes of its arguments
        raise Refused(f"“.{node.attr}” is not available; join texts with ~ (or write x['{node.attr}'] for a field)")
    on_loop = isinstance(node.node, nodes.Name) and node.node.name == "loop"
    if on_loop and node.attr not in LOOP_FIELDS:
        raise Refused(f"loop.{node.attr} is not available (only {', '.join(sorted(LOOP_FIELDS))})")
    return on_loop


def _check_call(node: nodes.Call) -> None:
    if not (isinstance(node.node, nodes.Name) and node.node.name in FUNCTIONS):
        if isinstance(node.node, nodes.Getattr):
            raise Refused(
                f"“.{node.node.attr[:40]}(…)” calls a method, which flows cannot do; "
                "use a filter instead, as in name | upper"
            )
        raise Refused("only these functions can be called: " + ", ".join(sorted(FUNCTIONS)))
    if node.dyn_args is not None or node.dyn_kwargs is not None or node.kwargs:
        raise Refused("functions take plain values, as in round(price, 2)")


def _check_filter(node: nodes.Filter | nodes.Test) -> None:
    table, what = (FILTERS, "filter") if isinstance(node, nodes.Filter) else (TESTS, "test")
    if node.name not in table:
        raise Refused(f"“{node.name[:40]}” is not an available {what} (available: {', '.join(sorted(table))})")
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        raise Refused(f"the {what} “{node.name}” takes plain values")
    if node.node is None:
        raise Refused(f"the {what} “{node.name}” needs a value")
    if node.name in _ATTRIBUTE_FILTERS:
        _check_attribute_names(node)


def _check_other(node: nodes.Node) -> None:
    if isinstance(node, nodes.Getitem):
        arg = node.arg
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value.startswith("_"):
            raise Refused(f"“{arg.value[:40]}” begins with “_”; flows can only read their own variables")
    elif isinstance(node, (nodes.Filter, nodes.Test)):
        _check_filter(node)
    elif isinstance(node, nodes.For) and node.recursive:
        raise Refused("recursive loops are not available in flows")
    elif isinstance(node, nodes.Mod) and isinstance(node.left, nodes.Const) and isinstance(node.left.value, str):
        raise Refused("text cannot be formatted with %; join texts with ~ instead")
    elif isinstance(node, nodes.Keyword) and node.key.startswith("_"):
        raise Refused(f"“{node.key[:40]}” begins with “_”")


def _check(
    node: nodes.Node, *, callee: bool = False, loop_field: bool = False, depth: int = 0, blocks: int = 0
) -> None:
    """Refused with the reason when the tree holds anything outside the language."""
    blocks = _limits(node, depth, blocks)
    if isinstance(node, nodes.Name):
        _check_name(node, callee=callee, loop_field=loop_field)
        return
    if isinstance(node, nodes.Getattr):
        on_loop = _check_getattr(node)
        _check(node.node, loop_field=on_loop, depth=depth + 1, blocks=blocks)
        return
    if isinstance(node, nodes.Call):
        _check_call(node)
        _check(node.node, callee=True, depth=depth + 1, blocks=blocks)
        for arg in node.args:
            _check(arg, depth=depth + 1, blocks=blocks)
        return
    _check_other(node)
    for child in node.iter_child_nodes():
        # an If's elif branches are If nodes within it: they are not nested blocks
        inner = blocks - 1 if isinstance(node, nodes.If) and any(child is e for e in node.elif_) else blocks
        _check(child, depth=depth + 1, blocks=inner)


def check(tree: nodes.Template) -> None:
    """Refused with the reason when the tree holds anything outside the language."""
    if sum(1 for _ in tree.find_all(nodes.Node)) > MAX_NODES:
        raise Refused(f"it has too many parts (more than {MAX_NODES:,}); split it over several steps")
    _check(tree)


def _wrap(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def harden(tree: nodes.Template) -> nodes.Template:
    """Every loop counted and every `~` measured (on a tree `check` accepted)."""
    for loop in tree.find_all(nodes.For):
        loop.iter = _wrap(loop.iter, ITERATE)
    for concat in list(tree.find_all(nodes.Concat)):
        joined = _wrap(nodes.Tuple(concat.nodes, "load", lineno=concat.lineno), CONCAT)
        concat.nodes = [joined]  # a Concat of one already-joined text renders as that text
    return tree

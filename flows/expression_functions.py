"""The functions, filters and tests a flow may call: each a pure function of plain data, counted
against the render's budget (`flows/values.py`) and measured before it builds anything large.
Jinja's own filters are kept where their output is bounded by their input; ours replace the
ones that could grow a value (join, replace, list, sum, tojson, string, unique).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Undefined, pass_environment
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.sandbox import SandboxedEnvironment
from jinja2.tests import TESTS as JINJA_TESTS
from jinja2.utils import htmlsafe_json_dumps

from flows.patterns import PatternError, search, units
from flows.values import (
    _SCALARS,
    MAX_ITEMS,
    MAX_PATH_PARTS,
    MAX_PRECISION,
    MAX_RESULT_LEN,
    PATTERN_UNITS_PER_STEP,
    ExpressionError,
    bounded,
    cost,
    items_of,
    lookup,
    plain,
    safe_add,
    size_of,
    spend,
    to_text,
    too_long,
)

# --- the functions a flow may call ----------------------------------------------------------


def _number(value: Any, kind: Callable[[Any], Any]) -> Any:
    if isinstance(value, str) and len(value.strip()) > 400:
        raise ExpressionError("That text is too long to be a number.")
    if not isinstance(value, (str, int, float)):
        raise ExpressionError("Only text and numbers can be turned into a number.")
    try:
        return kind(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):  # the value is not quoted: it may be anything, a secret too
        raise ExpressionError("That text is not a number.") from None


def fn_int(value: Any) -> int:
    """int(x): a whole number."""
    return int(_number(value, int if isinstance(value, str) else float))


def fn_float(value: Any) -> float:
    """float(x): a number with decimals."""
    return float(_number(value, float))


def fn_str(value: Any) -> str:
    """str(x): the value as text."""
    return to_text(value)


def fn_bool(value: Any) -> bool:
    """bool(x): true or false."""
    return bool(plain(value)) if not isinstance(value, Undefined) else False


def fn_len(value: Any) -> int:
    """len(x): the number of items or characters."""
    if isinstance(value, Undefined) or value is None:
        return 0
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    raise ExpressionError("len() counts the items of a list or the characters of a text.")


def _values(args: tuple[Any, ...]) -> list[Any]:
    found = list(items_of(args[0])) if len(args) == 1 else list(args)
    if not found:
        raise ExpressionError("min() and max() need at least one value.")
    return found


def fn_min(*args: Any) -> Any:
    """min(a, b) or min(list): the smallest."""
    try:
        return min(_values(args))
    except TypeError:
        raise ExpressionError("min() compares numbers with numbers and texts with texts.") from None


def fn_max(*args: Any) -> Any:
    """max(a, b) or max(list): the largest."""
    try:
        return max(_values(args))
    except TypeError:
        raise ExpressionError("max() compares numbers with numbers and texts with texts.") from None


def fn_round(value: Any, digits: Any = 0) -> Any:
    """round(x, digits): the number rounded."""
    if not isinstance(digits, int) or abs(digits) > MAX_PRECISION:
        raise ExpressionError(f"round() keeps between -{MAX_PRECISION} and {MAX_PRECISION} digits.")
    number = value if isinstance(value, (int, float)) else _number(value, float)
    result = round(number, digits)
    return int(result) if digits <= 0 and isinstance(result, float) and math.isfinite(result) else result


def fn_abs(value: Any) -> Any:
    """abs(x): the number without its sign."""
    return abs(value if isinstance(value, (int, float)) else _number(value, float))


def fn_range(*args: Any) -> list[int]:
    """range(n), range(a, b), range(a, b, step): at most MAX_ITEMS numbers."""
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args) or not 1 <= len(args) <= 3:
        raise ExpressionError("range() takes one to three whole numbers.")
    try:
        numbers = range(*args)
    except ValueError:
        raise ExpressionError("range() cannot step by 0.") from None
    if len(numbers) > MAX_ITEMS:
        raise ExpressionError(f"A range may hold at most {MAX_ITEMS:,} numbers.")
    return list(numbers)


def fn_lower(value: Any) -> str:
    """lower(x): the text in lower case."""
    return to_text(value).lower()


def fn_upper(value: Any) -> str:
    """upper(x): the text in upper case."""
    return to_text(value).upper()


def fn_matches(value: Any, pattern: Any) -> bool:
    """matches(x, pattern): whether the regular expression occurs in the text (RE2, linear time)."""
    source, text = to_text(pattern), "" if value is None else to_text(value)
    try:
        spend(1 + units(source, text) // PATTERN_UNITS_PER_STEP)
        return search(source, text)
    except PatternError as exc:  # the pattern may come from a variable: its reason, never its text
        raise ExpressionError(f"The pattern cannot be used: {exc.reason}.") from None


def _counted(fn: Any) -> Callable[..., Any]:
    """One budget step per call, the value it works on checked for size before, and its result
    after (filters and functions alike). functools.wraps keeps Jinja's pass_context and
    pass_environment marks on the wrapper, so Jinja still hands those in first."""
    first = 1 if hasattr(fn, "jinja_pass_arg") else 0
    name = getattr(fn, "__name__", "it").removeprefix("fn_").removeprefix("f_").removeprefix("do_")

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        value = args[first] if len(args) > first else None
        if isinstance(value, str):
            spend(cost(len(value)))
        elif isinstance(value, _SCALARS):
            spend()
        else:  # `[big] * 10000 | upper` would build a gigabyte of text: measured first
            spend(cost(size_of(value)))
        try:
            return bounded(fn(*args, **kwargs))
        except ExpressionError:
            raise
        except (AttributeError, TypeError, ValueError, LookupError, ArithmeticError) as exc:
            raise ExpressionError(f"“{name}” cannot work on that value ({_kind(value)}).") from exc

    return call


def _kind(value: Any) -> str:
    """What kind of value a person gave, in words (never its repr)."""
    for kind, word in ((bool, "true or false"), (str, "a text"), (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return word
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a dictionary"
    if value is None or isinstance(value, Undefined):
        return "nothing"
    return "something else"


FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: _counted(fn)
    for name, fn in {
        "range": fn_range,
        "len": fn_len,
        "min": fn_min,
        "max": fn_max,
        "round": fn_round,
        "abs": fn_abs,
        "int": fn_int,
        "float": fn_float,
        "str": fn_str,
        "bool": fn_bool,
        "lower": fn_lower,
        "upper": fn_upper,
        "matches": fn_matches,
    }.items()
}


# --- filters: Jinja's own where they are bounded by their input, ours where they could grow ----


def f_join(value: Any, separator: Any = "", attribute: Any = None) -> str:
    """items | join(", "): the items as one text."""
    parts = [to_text(item) for item in items_of(value)]
    sep = to_text(separator)
    if attribute is not None:
        raise ExpressionError("join() takes a separator only; use map(attribute=…) first.")
    if sum(len(p) for p in parts) + len(sep) * max(len(parts) - 1, 0) > MAX_RESULT_LEN:
        raise too_long(str)
    return sep.join(parts)


def f_replace(value: Any, old: Any, new: Any, count: Any = None) -> str:
    """text | replace("a", "b"): the text with one part replaced."""
    text, old_t, new_t = to_text(value), to_text(old), to_text(new)
    times = text.count(old_t)
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        times = min(times, count)
    if len(text) + times * (len(new_t) - len(old_t)) > MAX_RESULT_LEN:
        raise too_long(str)
    return text.replace(old_t, new_t, count if isinstance(count, int) and count >= 0 else -1)


@pass_environment
def f_unique(env: SandboxedEnvironment, value: Any, case_sensitive: Any = False, attribute: Any = None) -> list[Any]:
    """items | unique: each value once, in order. Values are told apart by text (Python's hash of a
    text is randomised), not by Python's hash of numbers, which a template can make collide."""
    seen: set[tuple[str, str]] = set()
    out = []
    for item in items_of(value):
        key_of = _field(env, item, attribute) if attribute is not None else item
        key = _identity(key_of, bool(case_sensitive))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _field(env: SandboxedEnvironment, item: Any, path: Any) -> Any:
    for part in str(path).split(".")[: MAX_PATH_PARTS + 1]:
        item = lookup(env, item, int(part) if part.isdigit() else part)
    return item


def _identity(value: Any, case_sensitive: bool) -> tuple[str, str]:
    if isinstance(value, str):
        return "s", value if case_sensitive else value.lower()
    return type(value).__name__, to_text(value)


def f_list(value: Any) -> list[Any]:
    """value | list: a list of the items (or of a text's characters)."""
    return list(items_of(value))


def f_sum(value: Any, attribute: Any = None, start: Any = 0) -> Any:
    """numbers | sum: the total of the numbers."""
    if attribute is not None:
        raise ExpressionError("sum() adds numbers; use map(attribute=…) first.")
    total = start if isinstance(start, (int, float)) and not isinstance(start, bool) else 0
    for item in items_of(value):
        if not isinstance(item, (int, float)):
            raise ExpressionError("sum() adds numbers only.")
        total = safe_add(total, item)
    return total


def f_tojson(value: Any, indent: Any = None) -> str:
    """value | tojson: the value as JSON, safe to put inside a JSON body or an HTML page."""
    size_of(value)
    width = indent if isinstance(indent, int) and 0 <= indent <= 8 else None
    return str(htmlsafe_json_dumps(value, dumps=json.dumps, indent=width))


def f_string(value: Any) -> str:
    """value | string: the value as text."""
    return to_text(value)


_JINJA_KEPT = [
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "first",
    "float",
    "int",
    "items",
    "last",
    "length",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "select",
    "selectattr",
    "sort",
    "title",
    "trim",
    "truncate",
    "upper",
    "urlencode",
    "wordcount",
]

FILTERS: dict[str, Callable[..., Any]] = {
    **{name: _counted(JINJA_FILTERS[name]) for name in _JINJA_KEPT},
    "round": _counted(fn_round),
    "join": _counted(f_join),
    "replace": _counted(f_replace),
    "unique": _counted(f_unique),
    "list": _counted(f_list),
    "sum": _counted(f_sum),
    "tojson": _counted(f_tojson),
    "string": _counted(f_string),
    "matches": _counted(fn_matches),
}

_JINJA_TESTS = [
    "odd",
    "even",
    "divisibleby",
    "defined",
    "undefined",
    "none",
    "boolean",
    "false",
    "true",
    "integer",
    "float",
    "lower",
    "upper",
    "string",
    "mapping",
    "number",
    "sequence",
    "in",
    "==",
    "eq",
    "equalto",
    "!=",
    "ne",
    ">",
    "gt",
    "greaterthan",
    ">=",
    "ge",
    "<",
    "lt",
    "lessthan",
    "<=",
    "le",
]

TESTS: dict[str, Callable[..., Any]] = {
    **{name: _counted(JINJA_TESTS[name]) for name in _JINJA_TESTS},
    "matching": _counted(fn_matches),
}

"""The environment flows' templates and expressions run in: plain data in, plain data out.

Closed by construction rather than by a list of what is forbidden:
- a value is read only as data: a key of a dictionary, a position or slice of a list or text, or
  a field of the `loop` of a for loop. Python attributes of objects are never looked up, so
  `__class__`, `__globals__`, bound methods (`'{0}'.format`) and generators' frames are out of reach;
- only the functions and filters below can be called, each a pure function of plain data;
- every call, loop turn and operator that can grow a value is counted against one budget per
  render (steps, processor time, size), checked before the work is done, not after.

`flows/expression_check.py` refuses what cannot be safe before anything runs; this module is
the second line, for whatever reaches it anyway.
"""

from __future__ import annotations

import functools
import json
import math
import operator
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from jinja2 import Undefined, pass_environment
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.tests import TESTS as JINJA_TESTS
from jinja2.utils import htmlsafe_json_dumps

from flows.patterns import PatternError, search, units

MAX_RESULT_LEN = 100_000  # characters in one value or one rendered text
MAX_ITEMS = 10_000  # items in one list, and numbers in a range
# Work units in one render, however loops nest: a loop turn or a call is one, and work on a long
# value costs one more per WORK_UNIT characters. Counted, not timed, so the same template is
# refused the same way on every machine; about 10 ms of processor time at most.
MAX_STEPS = 10_000
WORK_UNIT = 500
PATTERN_UNITS_PER_STEP = 200  # characters searched times pattern program size, per step
# A backstop in wall time, looked at every 64 units: reading the clock costs more than a unit.
MAX_SECONDS = 0.02
MAX_INT_BITS = 4_096
MAX_DEPTH = 64  # nesting of lists and dictionaries in a value that is shown or converted
MAX_PRECISION = 20  # digits after the point in round()
MAX_PATH_PARTS = 10  # names in a field path given as text: map(attribute="order.customer.name")


class ExpressionError(ValueError):
    """An expression or template that cannot be evaluated, said in words."""


class LenientUndefined(Undefined):
    """Missing variables render as an empty string and compare as None-like."""

    __slots__ = ()


# --- the budget of one render -------------------------------------------------------------


class Budget:
    """Work left for one render; every loop turn, call and growing operator spends from it."""

    __slots__ = ("deadline", "reads", "steps")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.reads = 0  # values looked up: every second one costs a step
        self.deadline = perf_counter() + MAX_SECONDS

    def spend(self, steps: int = 1) -> None:
        before = self.steps
        self.steps -= steps
        if self.steps < 0:
            raise ExpressionError(f"It does too much work (more than {MAX_STEPS:,} steps).")
        if before >> 6 != self.steps >> 6 and perf_counter() > self.deadline:
            raise ExpressionError("It takes too long to work out.")


def cost(size: int) -> int:
    """The units a piece of work on `size` characters costs."""
    return 1 + size // WORK_UNIT


_BUDGET: ContextVar[Budget | None] = ContextVar("chatloom_expression_budget", default=None)


@contextmanager
def budget() -> Iterator[Budget]:
    """A fresh budget for the render or evaluation inside the block."""
    fresh = Budget()
    token = _BUDGET.set(fresh)
    try:
        yield fresh
    finally:
        _BUDGET.reset(token)


def spend(steps: int = 1) -> None:
    """Count work against the budget of the render under way (flows.expressions opens one for
    every render and evaluation; a compiled template used directly, as tests do, is not counted)."""
    found = _BUDGET.get()
    if found is not None:
        found.spend(steps)


# --- plain data -----------------------------------------------------------------------------

_SCALARS = (str, int, float, bool, type(None))


def size_of(value: Any, limit: int = MAX_RESULT_LEN) -> int:
    """About how many characters the value takes as text; ExpressionError when it is not plain
    data (a function, a loop, a Python object), nests too deep, or is longer than `limit`."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"The value is nested too deep (more than {MAX_DEPTH} levels).")
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, float):
            total += 24
        elif isinstance(item, (list, tuple)):
            total += 2 + 2 * len(item)
            stack.extend((x, depth + 1) for x in item)
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            for key, x in item.items():
                stack.append((key, depth + 1))
                stack.append((x, depth + 1))
        elif isinstance(item, Undefined):
            continue
        else:
            raise ExpressionError("That value cannot be shown: flows hold text, numbers, lists and dictionaries.")
        if total > limit:
            raise ExpressionError(f"The text would be too long (more than {limit:,} characters).")
    return total


def plain(value: Any) -> Any:
    """The value if it is plain data within the size limit, else ExpressionError."""
    if isinstance(value, _SCALARS) and not (isinstance(value, str) and len(value) > MAX_RESULT_LEN):
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise ExpressionError("That number is too large to compute.")
        return value
    size_of(value)
    return value


def to_data(value: Any, depth: int = 0) -> Any:
    """Plain data the flow can keep: a missing value inside a list or dictionary becomes None,
    tuples become lists (what JSON holds). ExpressionError when it is not data or too large."""
    if depth == 0:
        plain(value)
    if isinstance(value, Undefined):
        return None
    if isinstance(value, (list, tuple)):
        return [to_data(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        return {to_data(key, depth + 1): to_data(item, depth + 1) for key, item in value.items()}
    return value


def to_text(value: Any) -> str:
    """A value as the text a person reads ("" for a missing one)."""
    if isinstance(value, Undefined):
        return ""
    if isinstance(value, str):
        return value
    plain(value)
    return str(value)


def bounded(value: Any) -> Any:
    """A result checked for size; an iterator (map, select) becomes a list, never an object."""
    if isinstance(value, str):
        if len(value) > MAX_RESULT_LEN:
            raise ExpressionError(f"The text would be too long (more than {MAX_RESULT_LEN:,} characters).")
        return value
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            raise ExpressionError(f"A list may hold at most {MAX_ITEMS:,} items.")
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionError("That number is too large to compute.")
    if isinstance(value, Iterator):
        items = []
        for item in value:
            items.append(item)
            if len(items) > MAX_ITEMS:
                raise ExpressionError(f"A list may hold at most {MAX_ITEMS:,} items.")
        return items
    return value


def items_of(value: Any) -> list[Any] | str:
    """What a loop or a list filter goes through: a list's items, a text's characters, a dictionary's keys."""
    if isinstance(value, Undefined) or value is None:
        return []
    if isinstance(value, (str, list)):
        found: list[Any] | str = value
    elif isinstance(value, tuple):
        found = list(value)
    elif isinstance(value, Mapping):
        found = list(value.keys())
    else:
        raise ExpressionError("Only lists, texts and dictionaries can be gone through one by one.")
    if len(found) > MAX_ITEMS:
        raise ExpressionError(f"A list may hold at most {MAX_ITEMS:,} items.")
    return found


# --- reading a value: data only --------------------------------------------------------------

LOOP_FIELDS = frozenset(
    {"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0", "previtem", "nextitem"}
)


def _slice_ok(key: slice) -> bool:
    parts = (key.start, key.stop, key.step)
    return all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts) and key.step != 0


def lookup(env: SandboxedEnvironment, obj: Any, key: Any) -> Any:
    """`obj.key` and `obj[key]`: a dictionary's entry, a list's or text's item or slice, a loop field."""
    if isinstance(key, str) and key.startswith("_"):  # a key from a variable: not quoted
        raise ExpressionError("A name beginning with “_” cannot be read in a flow.")
    found = _BUDGET.get()
    if found is not None:  # field paths read for every item (map(attribute=…)) are work too
        found.reads += 1
        if not found.reads & 1:
            found.spend()
    missing = env.undefined(name=key if isinstance(key, str) else None)
    if isinstance(obj, Undefined):
        return missing
    if isinstance(obj, Mapping):
        try:
            return obj.get(key, missing)
        except TypeError:  # an unhashable key, such as a list
            return missing
    if isinstance(obj, (str, list, tuple)):
        if isinstance(key, int) and not isinstance(key, bool):
            return obj[key] if -len(obj) <= key < len(obj) else missing
        if isinstance(key, slice) and _slice_ok(key):
            return obj[key]
        return missing
    if isinstance(obj, LoopContext) and key in LOOP_FIELDS:
        return getattr(obj, key)
    return missing


# --- operators ---------------------------------------------------------------------------------


def _too_long(kind: type) -> ExpressionError:
    if kind is str:
        return ExpressionError(f"The text would be too long (more than {MAX_RESULT_LEN:,} characters).")
    return ExpressionError(
        f"The list would be too long (at most {MAX_ITEMS:,} items and {MAX_RESULT_LEN:,} characters)."
    )


def _limit(value: Any) -> int:
    return MAX_RESULT_LEN if isinstance(value, str) else MAX_ITEMS


def _int_operands(a: Any, b: Any) -> bool:
    return isinstance(a, int) and isinstance(b, int)


def _size(seq: str | list[Any] | tuple[Any, ...]) -> int:
    # A list is measured by what it holds, so `[big] * 10000` is as long as its text would be.
    return len(seq) if isinstance(seq, str) else size_of(seq)


def safe_add(a: Any, b: Any) -> Any:
    if isinstance(a, (str, list, tuple)) and isinstance(b, (str, list, tuple)):
        if isinstance(a, str) != isinstance(b, str):
            raise ExpressionError("A text and a list cannot be added; join texts with ~.")
        size = _size(a) + _size(b)
        if size > MAX_RESULT_LEN or len(a) + len(b) > _limit(a):
            raise _too_long(type(a))
        spend(cost(size))
    return bounded(operator.add(a, b))


def safe_mul(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
            size = _size(seq) * times
            if size > MAX_RESULT_LEN or len(seq) * times > _limit(seq):
                raise _too_long(type(seq))
            spend(cost(size))
    if _int_operands(a, b) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise ExpressionError("That number is too large to compute.")
    return operator.mul(a, b)


def safe_pow(a: Any, b: Any) -> Any:
    if _int_operands(a, b) and b > 0 and abs(a) > 1 and b * max(a.bit_length(), 1) > MAX_INT_BITS:
        raise ExpressionError("That number is too large to compute.")
    return operator.pow(a, b)


def safe_mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):  # printf formatting: `'%*d' % (10**8, 1)` builds a huge text
        raise ExpressionError("Text cannot be formatted with %; join texts with ~ instead.")
    return operator.mod(a, b)


def safe_concat(parts: tuple[Any, ...]) -> str:
    """`a ~ b ~ c`, checked for length before the text is built."""
    texts = [to_text(p) for p in parts]
    size = sum(len(t) for t in texts)
    if size > MAX_RESULT_LEN:
        raise _too_long(str)
    spend(cost(size))
    return "".join(texts)


def iterate(value: Any) -> list[Any] | str:
    """What a `{% for %}` goes through, one budget step per turn, all spent before the first turn:
    the language has no `break`, so a loop always makes every turn, and a loop nested in another
    that would run out of budget is refused before it does any of its work."""
    items = items_of(value)
    spend(len(items) or 1)
    return items


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
        raise _too_long(str)
    return sep.join(parts)


def f_replace(value: Any, old: Any, new: Any, count: Any = None) -> str:
    """text | replace("a", "b"): the text with one part replaced."""
    text, old_t, new_t = to_text(value), to_text(old), to_text(new)
    times = text.count(old_t)
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        times = min(times, count)
    if len(text) + times * (len(new_t) - len(old_t)) > MAX_RESULT_LEN:
        raise _too_long(str)
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

# Filters the checker puts into the compiled code: a name a person cannot write (it has a colon).
ITERATE = "chatloom:iterate"
CONCAT = "chatloom:concat"


def _shown(value: Any) -> Any:
    """What `{{ value }}` prints: plain data only, and a missing value as nothing."""
    if isinstance(value, str) and len(value) <= MAX_RESULT_LEN:
        return value
    return to_data(value) if isinstance(value, (list, tuple, Mapping)) else plain(value)


class Sandbox(SandboxedEnvironment):
    """Jinja's sandbox with its doors closed: data lookups only, allowlisted calls, counted work."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self) -> None:
        # optimized=False: Jinja's optimizer folds constant expressions while compiling, which ran
        # `'x'|center(200000000)` during validation and cached its result.
        super().__init__(undefined=LenientUndefined, autoescape=False, optimized=False, finalize=_shown)
        self.globals = dict(FUNCTIONS)
        self.filters = {**FILTERS, ITERATE: iterate, CONCAT: safe_concat}
        self.tests = dict(TESTS)
        self.binop_table = {**self.binop_table, "+": safe_add, "*": safe_mul, "**": safe_pow, "%": safe_mod}
        self._callable = frozenset(id(fn) for fn in FUNCTIONS.values())

    def getattr(self, obj: Any, attribute: str) -> Any:
        return lookup(self, obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return lookup(self, obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if id(__obj) not in __self._callable:
            raise ExpressionError("Only the functions " + ", ".join(sorted(FUNCTIONS)) + " can be called.")
        return __context.call(__obj, *args, **kwargs)

    def call_filter(self, name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if name not in FILTERS:  # map("…") and select("…") name filters at run time: the public ones only
            raise ExpressionError("That filter is not available in flows.")
        return super().call_filter(name, value, *args, **kwargs)

    def call_test(self, name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if name not in TESTS:
            raise ExpressionError("That test is not available in flows.")
        return super().call_test(name, value, *args, **kwargs)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        spend()
        return self.binop_table[operator_](left, right)

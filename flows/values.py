"""Plain data and the budget of one render: what flows' templates and expressions may hold, how
big it may grow, how much work one render may do, and how a value is read (as data only).

Used by the functions a flow may call (`flows/expression_functions.py`) and by the environment
they run in (`flows/sandbox.py`).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from jinja2 import Undefined
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment

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


def too_long(kind: type) -> ExpressionError:
    """The refusal of a text or list that would grow past its limit."""
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
            raise too_long(type(a))
        spend(cost(size))
    return bounded(operator.add(a, b))


def safe_mul(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
            size = _size(seq) * times
            if size > MAX_RESULT_LEN or len(seq) * times > _limit(seq):
                raise too_long(type(seq))
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
        raise too_long(str)
    spend(cost(size))
    return "".join(texts)


def iterate(value: Any) -> list[Any] | str:
    """What a `{% for %}` goes through, one budget step per turn, all spent before the first turn:
    the language has no `break`, so a loop always makes every turn, and a loop nested in another
    that would run out of budget is refused before it does any of its work."""
    items = items_of(value)
    spend(len(items) or 1)
    return items

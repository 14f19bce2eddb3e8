"""The environment flows' templates and expressions run in: plain data in, plain data out.

Closed by construction rather than by a list of what is forbidden:
- a value is read only as data: a key of a dictionary, a position or slice of a list or text, or
  a field of the `loop` of a for loop. Python attributes of objects are never looked up, so
  `__class__`, `__globals__`, bound methods (`'{0}'.format`) and generators' frames are out of reach;
- only the functions, filters and tests of `flows/expression_functions.py` can be called, each
  a pure function of plain data;
- every call, loop turn and operator that can grow a value is counted against one budget per
  render (steps, processor time, size; `flows/values.py`), checked before the work is done.

`flows/expression_check.py` refuses what cannot be safe before anything runs; this module is
the second line, for whatever reaches it anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from flows.expression_functions import FILTERS, FUNCTIONS, TESTS
from flows.values import (
    MAX_RESULT_LEN,
    ExpressionError,
    LenientUndefined,
    iterate,
    lookup,
    plain,
    safe_add,
    safe_concat,
    safe_mod,
    safe_mul,
    safe_pow,
    spend,
    to_data,
)

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

"""Templates (`Hi {{ name }}`) and expressions (`score + 1`) evaluated in a sandbox.

A flow never holds code that Python executes: both go through Jinja2's immutable
sandbox, which refuses underscore attributes (`__class__`, `__globals__`), method
calls that mutate, and unknown callables. On top of that we cap the work a single
expression may do (huge powers, string repetition, ranges), since a flow is data a
non-programmer may paste from anywhere.
"""

from __future__ import annotations

import operator
import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_RESULT_LEN = 100_000
MAX_RANGE = 10_000
MAX_POWER_BITS = 4_096


class ExpressionError(ValueError):
    """An expression or template that cannot be evaluated, said in words."""


class _LenientUndefined(Undefined):
    """Missing variables render as an empty string and compare as None-like."""

    __slots__ = ()


def _safe_pow(a: Any, b: Any) -> Any:
    big = isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1
    if big and b * max(a.bit_length(), 1) > MAX_POWER_BITS:
        raise ExpressionError("That number is too large to compute.")
    return operator.pow(a, b)


def _safe_mul(a: Any, b: Any) -> Any:
    if isinstance(a, (str, list, tuple)) and isinstance(b, int) and len(a) * b > MAX_RESULT_LEN:
        raise ExpressionError("That text would be too long.")
    if isinstance(b, (str, list, tuple)) and isinstance(a, int) and len(b) * a > MAX_RESULT_LEN:
        raise ExpressionError("That text would be too long.")
    return operator.mul(a, b)


def _safe_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ExpressionError(f"A range may hold at most {MAX_RANGE} numbers.")
    return r


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            return _safe_pow(left, right)
        if operator_ == "*":
            return _safe_mul(left, right)
        return super().call_binop(context, operator_, left, right)


def _regex_match(value: Any, pattern: str) -> bool:
    return bool(_compiled_regex(str(pattern)).search("" if value is None else str(value)))


@lru_cache(maxsize=512)
def _compiled_regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ExpressionError(f"The pattern {pattern!r} is not a valid regular expression: {exc}.") from exc


def _make_env(strict: bool) -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined if strict else _LenientUndefined, autoescape=False)
    env.globals = {
        "range": _safe_range,
        "len": len,
        "min": min,
        "max": max,
        "round": round,
        "abs": abs,
        "int": int,
        "float": float,
        "str": str,
        "bool": bool,
        "lower": lambda s: str(s).lower(),
        "upper": lambda s: str(s).upper(),
        "matches": _regex_match,
    }
    env.tests["matching"] = _regex_match
    env.filters["matches"] = _regex_match
    return env


_ENV = _make_env(strict=False)


@lru_cache(maxsize=4096)
def compile_template(source: str) -> Any:
    """Parse a `{{ … }}` template once; raise ExpressionError with the reason if it is broken."""
    try:
        return _ENV.from_string(source)
    except TemplateError as exc:
        raise ExpressionError(f"The text {source!r} has a template error: {exc.message}.") from exc


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> Any:
    """Parse an expression once; raise ExpressionError with the reason if it is broken."""
    if not source.strip():
        raise ExpressionError("The expression is empty.")
    try:
        return _ENV.compile_expression(source, undefined_to_none=True)
    except TemplateError as exc:
        raise ExpressionError(f"The expression {source!r} is not valid: {exc.message}.") from exc


def has_template(text: str) -> bool:
    """Whether the text contains template markup at all (plain text skips the engine)."""
    return "{{" in text or "{%" in text


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)\s*\}\}")


@lru_cache(maxsize=4096)
def _simple_parts(source: str) -> tuple[tuple[str, tuple[str, ...] | None], ...] | None:
    """Split a template made only of text and `{{ name.key }}` placeholders; None for anything else."""
    parts: list[tuple[str, tuple[str, ...] | None]] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(source):
        parts.append((source[pos : m.start()], None))
        parts.append(("", tuple(m.group(1).split("."))))
        pos = m.end()
    parts.append((source[pos:], None))
    if any(mark in text for text, path in parts if path is None for mark in ("{{", "{%", "{#")):
        return None
    return tuple(parts)


_MISSING = object()


def _render_simple(parts: tuple[tuple[str, tuple[str, ...] | None], ...], variables: dict[str, Any]) -> str | None:
    """Render placeholders by dictionary lookups, as Jinja would; None when Jinja must decide."""
    out = []
    for text, path in parts:
        if path is None:
            out.append(text)
            continue
        value: Any = variables
        for key in path:
            if not isinstance(value, dict):
                return None  # attribute access on other objects: leave it to the sandbox
            value = value.get(key, _MISSING)
            if value is _MISSING:
                value = ""
                break
        out.append(value if isinstance(value, str) else str(value))
    return "".join(out)


def render(source: str, variables: dict[str, Any]) -> str:
    """Fill a template's `{{ … }}` with variables; plain text comes back as it was."""
    if not has_template(source):
        return source
    # Most texts are plain placeholders; filling those by lookup is ~20 times cheaper than a Jinja
    # render, which copies every variable into a new context each time.
    parts = _simple_parts(source)
    if parts is not None:
        done = _render_simple(parts, variables)
        if done is not None and len(done) <= MAX_RESULT_LEN:
            return done
    try:
        out = compile_template(source).render(variables)
    except SecurityError as exc:
        raise ExpressionError(f"The text {source!r} tried something a flow may not do.") from exc
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"The text {source!r} could not be filled in: {exc}.") from exc
    if len(out) > MAX_RESULT_LEN:
        raise ExpressionError("The text is too long once filled in.")
    return out


def evaluate(source: str, variables: dict[str, Any]) -> Any:
    """Evaluate an expression such as `score + 1` or `answer | lower == 'yes'`."""
    try:
        value = compile_expression(source)(**variables)
    except SecurityError as exc:
        raise ExpressionError(f"The expression {source!r} tried something a flow may not do.") from exc
    except ExpressionError:
        raise
    except Exception as exc:
        raise ExpressionError(f"The expression {source!r} failed: {exc}.") from exc
    if isinstance(value, Undefined):
        return None
    return value


def check_template(source: str) -> str | None:
    """The reason a template cannot be parsed, or None when it is fine (used at save time)."""
    try:
        compile_template(source)
    except ExpressionError as exc:
        return str(exc)
    return None


def check_expression(source: str) -> str | None:
    """The reason an expression cannot be parsed, or None when it is fine (used at save time)."""
    try:
        compile_expression(source)
    except ExpressionError as exc:
        return str(exc)
    return None

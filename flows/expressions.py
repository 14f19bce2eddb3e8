"""Templates (`Hi {{ name }}`) and expressions (`score + 1`): a closed language over plain data.

A flow never holds code that Python executes, and whoever edits a flow is untrusted. Every
template and expression is parsed, checked against the language (`flows/expression_check.py`:
no `_` names, no methods, allowlisted filters and functions only, no macros or includes) and
rewritten so its loops and joins are counted, then run in `flows/sandbox.py`, which reads values
as data only and gives each render one budget of steps, processor time and size. The same check
runs when a flow is validated, imported or published (through `check_template`/`check_expression`)
and again here before a render, for anything that reaches the runtime another way.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from threading import Lock
from typing import Any

from jinja2 import TemplateError, UndefinedError, nodes
from jinja2.parser import Parser

from flows.expression_check import NOT_VARIABLES, Refused, check, harden
from flows.sandbox import Sandbox
from flows.values import MAX_INT_BITS, MAX_RESULT_LEN, ExpressionError, budget, to_data

__all__ = [
    "MAX_RESULT_LEN",
    "ExpressionError",
    "check_expression",
    "check_template",
    "compile_expression",
    "compile_template",
    "evaluate",
    "has_template",
    "render",
]

MAX_SOURCE = 100_000  # characters of one template (an HTTP body may be this long)
MAX_EXPRESSION = 4_000  # characters of one expression
MAX_MARKS = 1_000  # {{ and {% in one template, counted before it is parsed
_CACHE_CHARS = 4_000_000  # the compiled-template cache, bounded by the size of what it holds
_CACHE_ITEMS = 4_096

_ENV = Sandbox()


def _snippet(source: str) -> str:
    text = source if len(source) <= 60 else source[:57] + "…"
    return text.replace("\n", " ")


class _Cache:
    """Compiled templates by source, least recently used first out, bounded in characters."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._chars = 0
        self._lock = Lock()

    def get(self, key: tuple[str, str]) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], value: Any) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = value
            self._chars += len(key[1]) + 200
            while self._chars > _CACHE_CHARS or len(self._items) > _CACHE_ITEMS:
                (_, old), _ = self._items.popitem(last=False)
                self._chars -= len(old) + 200

    def __len__(self) -> int:
        return len(self._items)

    @property
    def chars(self) -> int:
        return self._chars


_CACHE = _Cache()


def _checked(tree: nodes.Template, source: str) -> nodes.Template:
    try:
        check(tree)
    except Refused as exc:
        raise ExpressionError(f"“{_snippet(source)}” cannot be used: {exc}.") from None
    return harden(tree)


_COMPILER_LIMITS = (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError)  # past Python's own limits


def _refuse(key: tuple[str, str], message: str) -> ExpressionError:
    """The refusal, remembered: checking a refused 100,000-character text again costs nothing."""
    _CACHE.put(key, ExpressionError(message))
    return ExpressionError(message)


def _cached(key: tuple[str, str]) -> Any:
    found = _CACHE.get(key)
    if isinstance(found, ExpressionError):
        raise ExpressionError(str(found))
    return found


def _compile(key: tuple[str, str], source: str, build: Callable[[], nodes.Template], problem: str) -> Any:
    """The checked, compiled template `build` parses from `source` (cached), or ExpressionError
    saying why it cannot be used (cached too). `problem`: how a syntax error is introduced."""
    try:
        template = _ENV.from_string(_checked(build(), source))
    except ExpressionError as exc:
        raise _refuse(key, str(exc)) from None
    except TemplateError as exc:
        raise _refuse(key, f"{problem}: {exc.message}.") from None
    except _COMPILER_LIMITS:
        raise _refuse(key, f"“{_snippet(source)}” is too complex to fill in; split it over several steps.") from None
    _CACHE.put(key, template)
    return template


def compile_template(source: str) -> Any:
    """Parse, check and compile a `{{ … }}` template once; ExpressionError says why it cannot be used."""
    key = ("t", source)
    found = _cached(key)
    if found is not None:
        return found
    if len(source) > MAX_SOURCE:
        raise _refuse(key, f"The text is too long for a template (at most {MAX_SOURCE:,} characters).")
    if source.count("{{") + source.count("{%") > MAX_MARKS:  # before parsing, which costs far more
        raise _refuse(key, f"The text “{_snippet(source)}” has too many {{{{ }}}} and {{% %}} parts to fill in.")
    return _compile(key, source, lambda: _ENV.parse(source), f"The text “{_snippet(source)}” has a template error")


def compile_expression(source: str) -> Any:
    """Parse, check and compile an expression once; ExpressionError says why it cannot be used."""
    key = ("e", source)
    found = _cached(key)
    if found is not None:
        return found
    if not source.strip():
        raise ExpressionError("The expression is empty.")
    if len(source) > MAX_EXPRESSION:
        raise _refuse(key, f"The expression is too long (at most {MAX_EXPRESSION:,} characters).")

    def build() -> nodes.Template:
        parser = Parser(_ENV, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise ExpressionError(f"The expression “{_snippet(source)}” is not valid: it has more after its end.")
        return nodes.Template([nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)], lineno=1)

    return _compile(key, source, build, f"The expression “{_snippet(source)}” is not valid")


def has_template(text: str) -> bool:
    """Whether the text contains template markup at all (plain text skips the engine)."""
    return "{{" in text or "{%" in text


_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)\s*\}\}")


def _simple_parts(source: str) -> tuple[tuple[str, tuple[str, ...] | None], ...] | None:
    """The parts of a short template (cached), or of a long one (worked out each time: a cache of
    100,000-character sources would hold hundreds of megabytes)."""
    return _short_parts(source) if len(source) <= 2_000 else _split_parts(source)


@lru_cache(maxsize=4096)
def _short_parts(source: str) -> tuple[tuple[str, tuple[str, ...] | None], ...] | None:
    return _split_parts(source)


def _split_parts(source: str) -> tuple[tuple[str, tuple[str, ...] | None], ...] | None:
    """Split a template made only of text and `{{ name.key }}` placeholders; None for anything else."""
    parts: list[tuple[str, tuple[str, ...] | None]] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(source):
        path = tuple(m.group(1).split("."))
        if path[0] in NOT_VARIABLES or any(key in ("format", "format_map") for key in path):
            return None  # the checker has a word to say about these: leave them to it
        parts.append((source[pos : m.start()], None))
        parts.append(("", path))
        pos = m.end()
    parts.append((source[pos:], None))
    if any(mark in text for text, path in parts if path is None for mark in ("{{", "{%", "{#")):
        return None
    return tuple(parts)


_MISSING = object()


def _render_simple(parts: tuple[tuple[str, tuple[str, ...] | None], ...], variables: dict[str, Any]) -> str | None:
    """Render placeholders by dictionary lookups, as Jinja would; None when Jinja must decide."""
    out = []
    size = 0
    for text, path in parts:
        if path is None:
            out.append(text)
            size += len(text)
            continue
        value: Any = variables
        for key in path:
            if not isinstance(value, dict):
                return None  # attribute access on other objects: leave it to the sandbox
            value = value.get(key, _MISSING)
            if value is _MISSING:
                value = ""
                break
        if not isinstance(value, (str, int, float, bool, type(None))):
            return None  # a list or dictionary: the sandbox measures it before showing it
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            return None  # the sandbox refuses it in a sentence
        shown = value if isinstance(value, str) else str(value)
        size += len(shown)
        if size > MAX_RESULT_LEN:  # measured as it grows, never joined first
            raise ExpressionError(f"The text is too long once filled in (more than {MAX_RESULT_LEN:,} characters).")
        out.append(shown)
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
    template = compile_template(source)
    out: list[str] = []
    size = 0
    try:
        with budget():
            # chunk by chunk, so a loop that prints a long text is stopped as it grows, not after
            for chunk in template.generate(variables):
                size += len(chunk)
                if size > MAX_RESULT_LEN:
                    raise ExpressionError(
                        f"The text is too long once filled in (more than {MAX_RESULT_LEN:,} characters)."
                    )
                out.append(chunk)
    except ExpressionError as exc:
        raise ExpressionError(f"The text “{_snippet(source)}” could not be filled in: {exc}") from None
    except Exception as exc:  # noqa: BLE001 (whatever a value does inside the sandbox, a person gets a sentence)
        raise ExpressionError(f"The text “{_snippet(source)}” could not be filled in: {_why(exc)}.") from None
    return "".join(out)


def evaluate(source: str, variables: dict[str, Any]) -> Any:
    """Evaluate an expression such as `score + 1` or `answer | lower == 'yes'` to plain data."""
    template = compile_expression(source)
    try:
        with budget():
            context = template.new_context(variables)
            for _ in template.root_render_func(context):
                pass
            value = context.vars.get("result")
            value = to_data(value)
    except ExpressionError as exc:
        raise ExpressionError(f"The expression “{_snippet(source)}” failed: {exc}") from None
    except Exception as exc:  # noqa: BLE001 (whatever a value does inside the sandbox, a person gets a sentence)
        raise ExpressionError(f"The expression “{_snippet(source)}” failed: {_why(exc)}.") from None
    return value


def _why(exc: Exception) -> str:
    """A sentence for a failure inside a render: never Python's reprs, never a value (Jinja's own
    messages quote the names and values involved, and a value may be a secret)."""
    if isinstance(exc, ZeroDivisionError):
        return "it divides by zero"
    if isinstance(exc, OverflowError):
        return "a number is too large"
    if isinstance(exc, UndefinedError):
        return "a value it needs is missing"
    if isinstance(exc, TypeError):
        return "it mixes values of different kinds (such as text and a number)"
    if isinstance(exc, RecursionError):
        return "it is nested too deep"
    return "a value does not fit"


def check_template(source: str) -> str | None:
    """Why a template cannot be used, or None when it can (at validation, import and publish)."""
    if not has_template(source):
        return None
    try:
        compile_template(source)
    except ExpressionError as exc:
        return str(exc)
    return None


def check_expression(source: str) -> str | None:
    """Why an expression cannot be used, or None when it can (at validation, import and publish)."""
    try:
        compile_expression(source)
    except ExpressionError as exc:
        return str(exc)
    return None

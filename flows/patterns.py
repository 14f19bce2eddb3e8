"""Regular expressions from flows, run by RE2: time linear in the text, whatever the pattern.

Python's `re` backtracks: `^(a+)+$` against 27 characters held the whole server for seconds.
RE2 never backtracks, so it has no back-references or look-around; a pattern that uses them is
refused with a sentence when the flow is checked, not when a person is waiting for an answer.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

import re2

MAX_PATTERN = 1_000  # characters: a pattern is a line a person writes, not a document
_CACHE_SIZE = 512


class PatternError(ValueError):
    """A pattern that cannot be used, said in words."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to the server's stderr
    options.max_mem = 8 << 20  # bytes for the compiled automaton; `(a{999}){999}` hits it at once
    return options


_OPTIONS = _options()
_compiled: OrderedDict[str, Any] = OrderedDict()
_lock = Lock()


def _reason(source: str, message: str) -> str:
    shown = f"The pattern “{source[:80]}”"
    if "invalid escape sequence" in message or "invalid perl operator" in message:
        return (
            f"{shown} cannot be used: back-references (\\1) and look-arounds ((?=…), (?!…), (?<=…)) "
            "are not supported (patterns run in linear time)."
        )
    if "repetition" in message or "pattern too large" in message:
        return f"{shown} cannot be used: it repeats too much (write fewer or smaller {{n}} counts)."
    return f"{shown} is not a valid regular expression: {message.rstrip('.')}."


def compile_pattern(source: str) -> Any:
    """A compiled RE2 pattern (cached); PatternError says in words why one cannot be used."""
    with _lock:
        found = _compiled.get(source)
        if found is not None:
            _compiled.move_to_end(source)
            return found
    if len(source) > MAX_PATTERN:
        raise PatternError(f"The pattern is too long (at most {MAX_PATTERN} characters).")
    try:
        pattern = re2.compile(source, options=_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        raise PatternError(_reason(source, text)) from None
    with _lock:
        _compiled[source] = pattern
        if len(_compiled) > _CACHE_SIZE:
            _compiled.popitem(last=False)
    return pattern


def check_pattern(source: str) -> str | None:
    """Why a pattern cannot be used, or None when it can (for validation)."""
    try:
        compile_pattern(source)
    except PatternError as exc:
        return str(exc)
    return None


def search(source: str, text: str) -> bool:
    """Whether the pattern occurs in the text (RE2's time grows with the text, never faster)."""
    return compile_pattern(source).search(text) is not None


def fullmatch(source: str, text: str) -> bool:
    """Whether the whole text matches the pattern."""
    return compile_pattern(source).fullmatch(text) is not None

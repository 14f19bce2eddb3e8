"""Regular expressions from flows, run by RE2: time linear in the text, whatever the pattern.

Python's `re` backtracks: `^(a+)+$` against 27 characters held the whole server for seconds.
RE2 never backtracks, so it has no back-references or look-around; a pattern that uses them is
refused with a sentence when the flow is checked, not when a person is waiting for an answer.

RE2's time is linear in the text but also grows with the size of the pattern's program when its
DFA gives up (`(a|é){1000}x` over 99,000 characters took 5.5 s): a pattern's program is limited
(MAX_PROGRAM), and one search may cost at most MAX_UNITS characters times program size.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

import re2

MAX_PATTERN = 1_000  # characters: a pattern is a line a person writes, not a document
MAX_PROGRAM = 1_000  # RE2 program size: `[A-Z]{2}[0-9]{4}` is 10, an email pattern 40, `\w{3,50}` 201
MAX_UNITS = 2_000_000  # characters searched times program size, in one search (about 20 ms at worst)
_CACHE_SIZE = 512


class PatternError(ValueError):
    """A pattern that cannot be used, said in words; `reason` says why without quoting the pattern
    (a pattern filled in from a variable may hold anything, a secret included)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to the server's stderr
    options.max_mem = 8 << 20  # bytes for the compiled automaton; `(a{999}){999}` hits it at once
    return options


_OPTIONS = _options()
_compiled: OrderedDict[str, Any] = OrderedDict()
_lock = Lock()


def _reason(message: str) -> str:
    if "invalid escape sequence" in message or "invalid perl operator" in message:
        return (
            "back-references (\\1) and look-arounds ((?=…), (?!…), (?<=…)) are not supported "
            "(patterns run in linear time)"
        )
    if "repetition" in message or "pattern too large" in message:
        return "it repeats too much (write fewer or smaller {n} counts)"
    return f"it is not a valid regular expression ({message.rstrip('.')})"


def _refused(source: str, reason: str) -> PatternError:
    return PatternError(f"The pattern “{source[:80]}” cannot be used: {reason}.", reason)


def compile_pattern(source: str) -> Any:
    """A compiled RE2 pattern (cached); PatternError says in words why one cannot be used."""
    with _lock:
        found = _compiled.get(source)
        if found is not None:
            _compiled.move_to_end(source)
            return found
    if len(source) > MAX_PATTERN:
        raise _refused(source, f"it is too long (at most {MAX_PATTERN:,} characters)")
    try:
        pattern = re2.compile(source, options=_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        raise _refused(source, _reason(text)) from None
    if pattern.programsize > MAX_PROGRAM:
        raise _refused(source, "it is too complex (fewer repetitions, or smaller classes than \\pL, help)")
    with _lock:
        _compiled[source] = pattern
        if len(_compiled) > _CACHE_SIZE:
            _compiled.popitem(last=False)
    return pattern


def units(source: str, text: str) -> int:
    """What searching `text` for the pattern may cost: characters times program size."""
    return len(text) * max(compile_pattern(source).programsize, 1)


def _bounded(source: str, text: str) -> Any:
    pattern = compile_pattern(source)
    if len(text) * max(pattern.programsize, 1) > MAX_UNITS:
        raise PatternError(
            "The text is too long to check against this pattern.", "the text is too long to check against it"
        )
    return pattern


def check_pattern(source: str) -> str | None:
    """Why a pattern cannot be used, or None when it can (for validation)."""
    try:
        compile_pattern(source)
    except PatternError as exc:
        return str(exc)
    return None


def search(source: str, text: str) -> bool:
    """Whether the pattern occurs in the text."""
    return _bounded(source, text).search(text) is not None


def fullmatch(source: str, text: str) -> bool:
    """Whether the whole text matches the pattern."""
    return _bounded(source, text).fullmatch(text) is not None

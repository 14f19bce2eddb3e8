"""Secrets never reach a log line, whoever writes it.

Libraries log what they were given: python-telegram-bot logs its API address at DEBUG, which holds
the bot token; httpx logs every request's URL at INFO. So the server scrubs each log record as it is
made (a record factory, so every logger and handler gets the clean text): every secret this process
has decrypted or read from the environment is replaced by "[secret]", and so is anything shaped like
a Telegram token in a URL.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

SHORTEST = 8  # shorter values are not secrets worth scrubbing (and would blank common words)
TELEGRAM_TOKEN = re.compile(r"(?<=/bot)\d+:[A-Za-z0-9_-]+|\b\d{6,}:AA[A-Za-z0-9_-]{20,}")


class _Secrets:
    """What this process knows to be secret, as one pattern (rebuilt when a value is added)."""

    def __init__(self) -> None:
        self.known: set[str] = set()
        self.pattern: re.Pattern[str] | None = None
        self.lock = threading.Lock()
        self.installed = False


_state = _Secrets()


def remember(*values: Any) -> None:
    """Scrub these values from every log record from now on (strings of SHORTEST characters or more)."""
    fresh = {v for v in values if isinstance(v, str) and len(v) >= SHORTEST and v not in _state.known}
    if not fresh:
        return
    with _state.lock:
        _state.known.update(fresh)
        longest_first = sorted(_state.known, key=len, reverse=True)
        _state.pattern = re.compile("|".join(re.escape(v) for v in longest_first))


def scrub(text: str) -> str:
    pattern = _state.pattern
    if pattern is not None:
        text = pattern.sub("[secret]", text)
    return TELEGRAM_TOKEN.sub("[secret]", text)


def install() -> None:
    """Scrub every log record made in this process (once; keeps any factory already set)."""
    with _state.lock:
        if _state.installed:
            return
        _state.installed = True
    made = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = made(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: leave it to logging's own error handling
            return record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)

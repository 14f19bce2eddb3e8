"""What the command prints never drives the terminal it is printed on.

Names, titles, ids and messages come from flow files, the database, end users and platforms: any
of them may hold an escape sequence (colours, a moved cursor, a changed window title, a hyperlink,
a fake prompt), a NUL, a carriage return that overwrites the line, or a bidi control that shows
the text in another order than it is. Every control character is printed as an escape instead:
C0 (U+0000-U+001F, ESC and NUL among them), DEL, C1 (U+0080-U+009F; U+009B is CSI on its own),
the bidi embeddings, overrides, isolates and marks, and the line and paragraph separators.
"""

from __future__ import annotations

import re

_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI_AND_SEPARATORS}]")
# JSON escapes C0 itself; with ensure_ascii off it leaves these as they are, and they only ever
# stand inside strings there, so a \u escape keeps the same JSON
_RAW_IN_JSON = re.compile(f"[\\x7f-\\x9f{_BIDI_AND_SEPARATORS}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: object) -> str:
    """Text for a terminal, on one line: every control character written as \\xNN or \\uNNNN."""
    return _CONTROL.sub(_escape, str(text))


def shown_lines(text: str) -> list[str]:
    """A message of several lines for a terminal: its lines, each shown()."""
    return [shown(line) for line in text.split("\n")]


def shown_json(text: str) -> str:
    """JSON text (from json.dumps) with DEL, C1 and bidi controls written as \\u escapes: the same
    JSON to a program, and nothing a terminal acts on."""
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)

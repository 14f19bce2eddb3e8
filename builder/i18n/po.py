"""gettext .po catalogues, read and written: the subset translation tools write, nothing evaluated, no compile step."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field


class CatalogueError(ValueError):
    """A catalogue that cannot be read: where, and why."""


# an entry as read from a .po file: (msgid, msgid_plural or None, the msgstr forms, fuzzy)
Entry = tuple[str, str | None, tuple[str, ...], bool]

_KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d{1,2})\])?)\s+(".*")\s*$')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(quoted: str, where: str) -> str:
    """The text of one quoted .po string, its escapes undone (\\n, \\t, \\", \\\\; nothing else)."""
    if len(quoted) < 2 or not (quoted.startswith('"') and quoted.endswith('"')):
        raise CatalogueError(f"{where}: a text must be in double quotes")
    inner = quoted[1:-1]
    if re.search(r'(?<!\\)(?:\\\\)*"', inner):
        raise CatalogueError(f'{where}: a double quote inside a text must be written \\"')
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), inner)


def parse_po(text: str, source: str = "catalogue") -> list[Entry]:
    """The entries of a gettext .po file. Obsolete entries (`#~`) are skipped; `msgctxt` entries are
    kept under "context\\x04id", as gettext keys them."""
    entries: list[Entry] = []
    parts: dict[str, list[str]] = {}
    forms: dict[int, list[str]] = {}
    fuzzy = False
    current: list[str] | None = None

    def finish() -> None:
        nonlocal parts, forms, fuzzy, current
        if "msgid" in parts:
            msgid = "".join(parts["msgid"])
            if "msgctxt" in parts:
                msgid = "".join(parts["msgctxt"]) + "\x04" + msgid
            plural = "".join(parts["msgid_plural"]) if "msgid_plural" in parts else None
            found: tuple[str, ...] = ("".join(parts.get("msgstr", [])),)
            if plural is not None:  # every form from msgstr[0] on, none missing; else the entry is not used
                complete = sorted(forms) == list(range(len(forms)))
                found = tuple("".join(forms[i]) for i in sorted(forms)) if complete else ()
            entries.append((msgid, plural, found, fuzzy))
        elif parts or forms:
            raise CatalogueError(f"{source}: an entry without msgid")
        parts, forms, fuzzy, current = {}, {}, False, None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{source}:{number}"
        if not line:
            finish()
        elif line.startswith("#"):
            if "msgstr" in parts or forms:
                finish()  # the comments of the next entry, without a blank line before them
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
        elif line.startswith('"'):
            if current is None:
                raise CatalogueError(f"{where}: a text continues nothing")
            current.append(_unquote(line, where))
        elif found := _KEYWORD.match(line):
            keyword, index, quoted = found[1], found[2], found[3]
            if keyword in ("msgctxt", "msgid") and ("msgstr" in parts or forms):
                finish()  # a new entry without a blank line before it
            if index is not None:
                current = forms.setdefault(int(index), [])
            else:
                current = parts.setdefault(keyword.split("[")[0], [])
            current.append(_unquote(quoted, where))
        else:
            raise CatalogueError(f"{where}: not a .po line")
    finish()
    return entries


@dataclass
class Message:
    """One message id of a template, with where it is used."""

    msgid: str
    plural: str | None = None
    where: list[str] = field(default_factory=list)
    braces: bool = False  # it has {name} placeholders (translation tools check them)


def _quote(text: str) -> str:
    """A text as a .po string; a text of several lines as one quoted line each, after an empty one."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\r", "\\r")
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'"{escaped}"'
    quoted = [f'"{line}\\n"' for line in lines[:-1]] + ([f'"{lines[-1]}"'] if lines[-1] else [])
    return '""\n' + "\n".join(quoted)


def template(messages: Iterable[Message]) -> str:
    """A gettext template (.pot) of these messages, every msgstr empty."""
    out = [
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Project-Id-Version: Chatloom builder\\n"',
        "",
    ]
    for m in messages:
        files = [w for w in m.where if ".py:" in w]
        out += [f"#. {w}" for w in m.where if w not in files]
        out += [f"#: {' '.join(files)}"] if files else []
        if m.braces:
            out.append("#, python-brace-format")
        out.append(f"msgid {_quote(m.msgid)}")
        if m.plural is None:
            out += ['msgstr ""', ""]
        else:
            out += [f"msgid_plural {_quote(m.plural)}", 'msgstr[0] ""', 'msgstr[1] ""', ""]
    return "\n".join(out)

"""The message ids of the builder, for translators: `python -m builder.i18n extract -o chatloom.pot`.

They are found by reading the builder's modules (each `_()`, `N_()` and `n_()` whose texts are
written out), and by asking the packages the builder shows fixed words from: node types, channels,
roles, rights, AI providers.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from builder.i18n import PLACEHOLDER
from builder.i18n.po import Message, template

MARKERS = {"_": 1, "N_": 1, "n_": 2}  # the translation functions, and how many message texts each takes
BUILDER = Path(__file__).resolve().parents[1]


def messages_in(source: str, path: str = "<source>") -> Iterator[tuple[str, str | None, int]]:
    """(message id, plural id or None, line) of each `_()`, `N_()` and `n_()` whose texts are literal."""
    for call in ast.walk(ast.parse(source, filename=path)):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in MARKERS):
            continue
        texts = call.args[: MARKERS[call.func.id]]
        if len(texts) == MARKERS[call.func.id] and all(
            isinstance(t, ast.Constant) and isinstance(t.value, str) for t in texts
        ):
            values = [t.value for t in texts]  # type: ignore[attr-defined]
            yield values[0], (values[1] if len(values) > 1 else None), call.lineno


def builder_modules(root: Path = BUILDER) -> list[Path]:
    """The builder's Python modules, in a stable order."""
    return sorted(p for p in root.rglob("*.py") if "node_modules" not in p.parts)


def shown_from_elsewhere() -> Iterator[tuple[str, str]]:
    """(text, where) of the fixed words the builder shows that other packages define: node types (titles,
    descriptions, categories, their settings' titles, help and choices), channels, roles, rights, AI providers
    and the page of an unexpected failure."""
    from typing import Literal, get_args, get_origin

    from pydantic import BaseModel

    from nodes.registry import Registry
    from runtime.access import RIGHTS, ROLE_WORDS
    from runtime.ai.models import PROVIDERS
    from runtime.asgi import OOPS
    from runtime.channels.kinds import ACCOUNT_RULE, KINDS

    def model_texts(model: type[BaseModel], where: str, seen: set[type[BaseModel]]) -> Iterator[tuple[str, str]]:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            at = f"{where} field {name}"
            yield from ((t, at) for t in (info.title, info.description) if t)
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            labels = extra.get("labels")
            named = labels if isinstance(labels, dict) else {}
            for kind in _annotation_parts(info.annotation):
                if get_origin(kind) is Literal:
                    yield from ((str(named.get(v) or str(v).replace("_", " ")), at) for v in get_args(kind))
                elif isinstance(kind, type) and issubclass(kind, BaseModel):
                    yield from model_texts(kind, where, seen)

    for spec in Registry.from_entry_points():
        where = f"node type {spec.type}"
        yield from ((t, where) for t in (spec.title, spec.description, spec.category) if t)
        yield from model_texts(spec.settings, where, set())
    for kind in KINDS.values():
        yield kind.title, f"channel {kind.name}"
        for c in kind.credentials:
            yield from ((c.label, f"channel {kind.name}"), (c.where, f"channel {kind.name}"))
    yield ACCOUNT_RULE, "runtime.channels.kinds"
    for role, words in ROLE_WORDS.items():  # a role's name is shown as a word too
        yield from ((role, f"role {role}"), (words, f"role {role}"))
    yield from ((words, f"right {right}") for right, words in RIGHTS.items())
    yield from ((name, f"AI provider {key}") for key, name in PROVIDERS.items())
    yield OOPS, "runtime.asgi"


def _annotation_parts(annotation: object) -> Iterator[object]:
    """An annotation and what it is made of (`list[Button] | None` → the union, list[Button], Button, None)."""
    from typing import get_args

    yield annotation
    for arg in get_args(annotation):
        yield from _annotation_parts(arg)


def collect(root: Path = BUILDER, elsewhere: bool = True) -> list[Message]:
    """Every message id: the builder's literal ones, then (with `elsewhere`) the ones other packages define."""
    found: dict[str, Message] = {}
    for path in builder_modules(root):
        relative = path.relative_to(root.parent).as_posix()
        for msgid, plural, line in messages_in(path.read_text(encoding="utf-8"), relative):
            message = found.setdefault(msgid, Message(msgid, plural))
            message.plural = message.plural or plural
            message.where.append(f"{relative}:{line}")
    if elsewhere:
        for text, where in shown_from_elsewhere():
            found.setdefault(text, Message(text)).where.append(where)
    for message in found.values():
        message.where = list(dict.fromkeys(message.where))
        message.braces = bool(PLACEHOLDER.search(message.msgid + (message.plural or "")))
    return list(found.values())


def main(argv: list[str] | None = None) -> int:
    """`python -m builder.i18n extract [-o FILE] [--builder-only]`."""
    parser = argparse.ArgumentParser(prog="python -m builder.i18n", description="The builder's translations.")
    commands = parser.add_subparsers(dest="command", required=True)
    extract = commands.add_parser("extract", help="write a template catalogue (.pot) of every message id")
    extract.add_argument("-o", "--output", help="the file to write (default: standard output)")
    extract.add_argument("--builder-only", action="store_true", help="only the builder's own literal texts")
    args = parser.parse_args(argv)
    text = template(collect(elsewhere=not args.builder_only))
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0

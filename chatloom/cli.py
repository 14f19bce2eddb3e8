"""The `chatloom` command. Start-up stays light: each command imports what it needs when it runs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.models import Flow
    from nodes.registry import Registry

EXIT_PROBLEMS = 1  # the flow has errors
EXIT_USAGE = 2  # bad arguments or a file that is not a usable flow
EXIT_INTERNAL = 70


class CliError(Exception):
    """A one-line message for the user, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure is one line on stderr and a non-zero exit."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="chatloom: %(levelname)s: %(message)s", stream=sys.stderr)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.run(args) or 0)
    except CliError as exc:
        print(f"chatloom: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if os.environ.get("CHATLOOM_DEBUG") == "1":
            raise
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"chatloom: internal error: {first} (set CHATLOOM_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatloom", description="Build and run chatbot flows.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, run: Any, help: str, aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, aliases=list(aliases))
        p.set_defaults(run=run)
        return p

    for name, aliases, text in (
        ("run", (), "Start Chatloom on this machine (the runtime server for now)."),
        ("serve", (), "Start the runtime's HTTP server with the example flows."),
    ):
        p = command(name, _serve, text, aliases)
        p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
        p.add_argument("--data", type=Path, help="data folder (default ./data, or CHATLOOM_DATA)")
        p.add_argument("--no-examples", action="store_true", help="do not import the example flows")

    p = command("chat", _chat, "Chat with a flow file in the terminal, through the real runtime.")
    p.add_argument("file", type=Path, help="the flow (other flows in its folder can be called as sub-flows)")
    p.add_argument("--json", action="store_true", help="read one message per line, write one JSON object per reply")
    p.add_argument("--fast", action="store_true", help="shorten waits and timeouts a thousandfold")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="a starting variable")
    p.add_argument("--user-id", default="you", help="the user id the flow sees (default 'you')")

    p = command("validate", _validate, "Check a flow file and print every problem.")
    p.add_argument("file", type=Path)

    p = command("import", _import, "Save a flow file into the database as the flow's draft.")
    p.add_argument("file", type=Path)
    p.add_argument("--publish", action="store_true", help="also publish it as a new version")
    p.add_argument("--note", default="", help="a note for the published version")
    p.add_argument("--data", type=Path, help="data folder (default ./data, or CHATLOOM_DATA)")

    p = command("export", _export, "Write a flow from the database as a JSON file.")
    p.add_argument("flow_id")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    p.add_argument("--version", type=int, help="a published version (default: the draft)")
    p.add_argument("--data", type=Path, help="data folder (default ./data, or CHATLOOM_DATA)")

    p = command("flows", _flows, "List the flows in the database.")
    p.add_argument("--data", type=Path, help="data folder (default ./data, or CHATLOOM_DATA)")

    p = command("nodes", _nodes, "List installed node types, and plugins that failed to load.")
    p.add_argument("--json", action="store_true")

    command("schema", _schema, "Print the JSON Schema of a flow document.")
    return parser


# -- reading flows --------------------------------------------------------------------------


def read_flow(path: Path) -> Flow:
    """A flow from a file, or CliError with one sentence: missing, a folder, too big, not a flow."""
    from flows.document import MAX_FLOW_BYTES, DocumentError, parse_flow

    if not path.exists():
        raise CliError(f"{path}: no such file.")
    if path.is_dir():
        raise CliError(f"{path} is a folder, not a flow file.")
    size = path.stat().st_size
    if size > MAX_FLOW_BYTES:
        raise CliError(
            f"{path} is {size / 1_048_576:.1f} MB; a flow file may be at most {MAX_FLOW_BYTES // 1_048_576} MB."
        )
    try:
        return parse_flow(path.read_bytes(), source=str(path))
    except DocumentError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{path} cannot be read: {exc.strerror}.") from None


def _registry() -> Registry:
    from nodes.registry import Registry

    return Registry.from_entry_points()


def _engine(data: Path | None) -> Any:
    from flows.db import database_url, default_data_dir, make_engine

    return make_engine(database_url(data.resolve() if data else default_data_dir()))


def _errors_of(flow: Flow, registry: Registry) -> list[Any]:
    from flows.validate import validate

    return validate(flow, registry)


# -- commands -------------------------------------------------------------------------------


def _schema(args: argparse.Namespace) -> int:
    from flows.document import flow_schema

    print(json.dumps(flow_schema(), indent=2, ensure_ascii=False))
    return 0


def _nodes(args: argparse.Namespace) -> int:
    registry = _registry()
    if args.json:
        print(
            json.dumps(
                {
                    "nodes": [
                        {
                            "type": i.node.type,
                            "version": i.node.version,
                            "category": i.node.category,
                            "title": i.node.title,
                            "distribution": i.distribution,
                        }
                        for i in registry.installed()
                    ],
                    "rejected": [
                        {"name": e.name, "distribution": e.distribution, "reason": e.reason} for e in registry.errors
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    for i in registry.installed():
        print(f"{i.node.type:<20} v{i.node.version}  {i.node.category:<13} {i.node.title}  ({i.distribution})")
    if registry.errors:
        print("\nPlugins that could not be loaded:")
        for e in registry.errors:
            print(f"  {e}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    flow = read_flow(args.file)
    problems = _errors_of(flow, _registry())
    for problem in problems:
        print(problem)
    errors = sum(p.severity == "error" for p in problems)
    if errors:
        print(f"{errors} error(s), {len(problems) - errors} warning(s).", file=sys.stderr)
        return EXIT_PROBLEMS
    print("OK" if not problems else f"OK with {len(problems)} warning(s)")
    return 0


def _import(args: argparse.Namespace) -> int:
    from flows.problems import has_errors
    from flows.store import FlowStore

    flow = read_flow(args.file)
    registry = _registry()
    if args.publish:  # check first, so a refused publish leaves the database as it was
        problems = _errors_of(flow, registry)
        if has_errors(problems):
            for problem in problems:
                print(problem, file=sys.stderr)
            raise CliError(f"{args.file} was not imported: it has errors (listed above).", EXIT_PROBLEMS)
    store = FlowStore(_engine(args.data))
    store.save_draft(flow)
    if args.publish:
        version = store.publish(flow.id, registry, note=args.note)
        print(f"Imported and published {flow.id!r} as version {version}.")
    else:
        print(f"Imported {flow.id!r} as a draft.")
    return 0


def _export(args: argparse.Namespace) -> int:
    from flows.document import dump_flow
    from flows.store import FlowNotFound, FlowStore

    store = FlowStore(_engine(args.data))
    try:
        flow = store.version(args.flow_id, args.version).flow if args.version else store.draft(args.flow_id)
    except FlowNotFound as exc:
        raise CliError(str(exc)) from None
    text = dump_flow(flow)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _flows(args: argparse.Namespace) -> int:
    from flows.store import FlowStore

    for f in FlowStore(_engine(args.data)).list():
        published = f"v{f.latest_version}" if f.latest_version else "draft only"
        print(f"{f.id:<24} {published:<11} {f.name}")
    return 0


def _chat(args: argparse.Namespace) -> int:
    from chatloom.chat import chat

    variables = {}
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CliError(f"--var takes NAME=VALUE, not {item!r}.")
        variables[name] = value
    return chat(args.file, as_json=args.json, fast=args.fast, variables=variables, user_id=args.user_id)


def _serve(args: argparse.Namespace) -> int:
    from chatloom.serve import serve

    return serve(host=args.host, port=args.port, data=args.data, examples=not args.no_examples)

"""The `chatloom` command. Start-up stays light: each command imports what it needs when it runs.

Every failure a user can cause is one line on stderr and a non-zero exit: 2 for bad arguments
and files that are not usable flows, 1 for flows with errors (and other refusals), 70 for a bug.
Whatever comes from a flow, the database or a platform is printed with its control characters
escaped (chatloom.terminal): a flow cannot drive the terminal it is checked in.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import stat
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from chatloom.terminal import shown, shown_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from flows.models import Flow
    from flows.problems import Problem
    from nodes.registry import Registry
    from runtime.channels.secretbox import SecretBox

EXIT_PROBLEMS = 1  # the flow has errors, or the command was refused
EXIT_USAGE = 2  # bad arguments, or a file that is not a usable flow
EXIT_INTERNAL = 70  # a bug: EX_SOFTWARE
EXIT_INTERRUPTED = 130

log = logging.getLogger("chatloom")


class CliError(Exception):
    """A one-line message for the user, and the exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# -- entry point ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure is one line on stderr and a non-zero exit."""
    try:
        return _main(argv)
    except CliError as exc:
        _say(str(exc))
        return exc.code
    except KeyboardInterrupt:
        if sys.stderr.isatty():
            print(file=sys.stderr)  # leave the shell prompt on a line of its own
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `chatloom schema | head`: the reader left; nothing to report
        _silence_stdout()
        return EXIT_PROBLEMS
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback
        return _unexpected(exc)


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _setup_logging()
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    return int(args.run(args) or 0)


def _unexpected(exc: Exception) -> int:
    """Database and file-system failures in words; anything else is a bug, reported in one line."""
    if type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg", "psycopg2", "sqlite3"):
        _say(f"database error: {_first_line(exc)}")
        _debug_traceback()
        return EXIT_PROBLEMS
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        _say(f"{where}{exc.strerror}.")
        _debug_traceback()
        return EXIT_PROBLEMS
    _debug_traceback()
    hint = "" if _debugging() else " (set CHATLOOM_DEBUG=1 to see the traceback)"
    _say(f"internal error: {type(exc).__name__}: {_first_line(exc)}{hint}")
    return EXIT_INTERNAL


def _debugging() -> bool:
    return os.environ.get("CHATLOOM_DEBUG", "") not in ("", "0")


def _debug_traceback() -> None:
    if _debugging():
        traceback.print_exc(file=sys.stderr)


_SECRET_IN_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@")


def redact(text: str) -> str:
    """Hide the password of any URL in a message (database URLs end up in driver errors)."""
    return _SECRET_IN_URL.sub(r"\1***@", text)


def one_line(text: str) -> str:
    """A message on one line: whitespace runs made one space, control characters escaped, URL passwords hidden."""
    return redact(shown(" ".join(text.split())))


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return one_line(lines[0]) if lines else "(no message)"


def _say(message: str) -> None:
    print(f"chatloom: {one_line(message)}", file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class _OneLineFormatter(logging.Formatter):
    """`chatloom: warning: …` on one line; a traceback only with CHATLOOM_DEBUG=1."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {_first_line(record.exc_info[1])})"
        line = f"chatloom: {record.levelname.lower()}: {one_line(text)}"
        if _debugging() and record.exc_info:
            line += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return line


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if os.environ.get("CHATLOOM_LOG_LEVEL", "").lower() == "debug" else logging.WARNING)


# -- arguments ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"chatloom: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chatloom",
        description="Build, check and run chatbot flows.",
        epilog="Each command has its own --help. Set CHATLOOM_DEBUG=1 to see tracebacks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, run: Any, help: str, aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, aliases=list(aliases))
        p.set_defaults(run=run)
        return p

    def data_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data",
            type=Path,
            metavar="DIR",
            help="data folder (default: $CHATLOOM_DATA or ./data); DATABASE_URL, when set, names the database instead",
        )

    for name, text in (
        ("serve", "Start the runtime's HTTP server, with the example flows."),
        ("run", "Start Chatloom on this machine: the builder in the browser, and the runtime."),
    ):
        p = command(name, _serve, text)
        p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
        data_option(p)
        p.add_argument("--no-examples", action="store_true", help="do not import the example flows")
        p.add_argument(
            "--no-worker",
            action="store_true",
            help="only acknowledge channel webhooks; a `chatloom worker` process handles them",
        )

    p = command("chat", _chat, "Chat with a flow file in the terminal, through the real runtime.")
    p.add_argument("file", type=Path, help="the flow; other flows in its folder can be run as sub-flows")
    p.add_argument(
        "--json",
        action="store_true",
        help='read one message per line (text, or {"text", "choice", "media"}); write one JSON object per bot message',
    )
    p.add_argument("--fast", action="store_true", help="test mode: waits and timeouts are a thousand times shorter")
    p.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="a starting variable (may be repeated)"
    )
    p.add_argument("--user-id", default="you", metavar="ID", help="the user id the flow sees (default 'you')")

    p = command("validate", _validate, "Check a flow file and print every problem; exit 1 if it has errors.")
    p.add_argument("file", type=Path)

    p = command("import", _import, "Save a flow file into the database as the flow's draft.")
    p.add_argument("file", type=Path)
    p.add_argument("--publish", action="store_true", help="also publish it as a new version (refused if it has errors)")
    p.add_argument("--note", default="", metavar="TEXT", help="a note for the published version")
    data_option(p)

    p = command("export", _export, "Write a flow from the database as a JSON file.")
    p.add_argument("flow_id", metavar="FLOW_ID")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="file to write (default: standard output)")
    p.add_argument("--version", type=int, metavar="N", help="a published version (default: the draft)")
    data_option(p)

    p = command("flows", _flows, "List the flows in the database.")
    data_option(p)

    p = command("nodes", _nodes, "List installed node types, and plugins that failed to load.")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    command("schema", _schema, "Print the JSON Schema of a flow document.")
    p = command("worker", _worker, "Handle channel events and deliver messages (for `serve --no-worker`).")
    data_option(p)
    p.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="serve GET /health and GET /ready on this port (default: no port is opened)",
    )
    p.add_argument("--health-host", default="127.0.0.1", help="address for --health-port (default 127.0.0.1)")
    from chatloom import deploy, privacy_cli, users_cli

    deploy.add_commands(command, data_option)
    privacy_cli.add_commands(command, data_option)
    users_cli.add_commands(command, data_option)
    return parser


# -- reading flows --------------------------------------------------------------------------


def read_flow_bytes(path: Path) -> bytes:
    """The bytes of a flow file, or CliError: missing, a folder, not a file, too big, empty.

    The size is checked before reading, and the read stops one byte past the limit, so a huge
    file (or a device that never ends) is never loaded.
    """
    from flows.document import MAX_FLOW_BYTES

    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise CliError(f"{path}: no such file.") from None
    except OSError as exc:
        raise CliError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise CliError(f"{path} is a folder, not a flow file.")
    if not stat.S_ISREG(info.st_mode):
        raise CliError(f"{path} is not a regular file.")
    too_big = f"a flow file may be at most {MAX_FLOW_BYTES // 1_048_576} MB."
    if info.st_size > MAX_FLOW_BYTES:
        raise CliError(f"{path} is {info.st_size / 1_048_576:.1f} MB; {too_big}")
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FLOW_BYTES + 1)
    except OSError as exc:
        raise CliError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    if len(raw) > MAX_FLOW_BYTES:
        raise CliError(f"{path} is more than {MAX_FLOW_BYTES // 1_048_576} MB; {too_big}")
    if not raw.strip():
        raise CliError(f"{path} is empty.")
    return raw


def parse_flow_bytes(raw: bytes, source: str) -> Flow:
    """A flow from a file's bytes, or CliError saying in one sentence why it is not one."""
    from flows.document import DocumentError, parse_flow

    try:
        return parse_flow(raw, source=source)
    except DocumentError as exc:
        raise CliError(str(exc)) from None
    except RecursionError:
        raise CliError(f"{source} is nested too deeply to be a flow.") from None


def read_flow(path: Path) -> Flow:
    """A flow from a file, or CliError with one sentence: missing, a folder, too big, not a flow."""
    return parse_flow_bytes(read_flow_bytes(path), str(path))


def registry() -> Registry:
    from nodes.registry import Registry

    return Registry.from_entry_points()


def refusal(path: Path, flow: Flow, problems: Sequence[Problem], catalog: Registry, doing: str) -> CliError:
    """One line saying why a flow with errors is refused: the missing node types, then the first errors."""
    errors = [p for p in problems if p.severity == "error"]
    missing = sorted({n.type for n in flow.nodes if n.type not in catalog})
    details = []
    if missing:
        details.append(f"node type{'s' if len(missing) > 1 else ''} not installed: {', '.join(missing)}")
    others = [p for p in errors if p.code != "unknown_type"]
    details += [str(p).removeprefix("error: ").rstrip(".") for p in others[:2]]
    more = len(others) - 2
    detail = "; ".join(details) + (f"; and {more} more" if more > 0 else "")
    n = len(errors)
    return CliError(
        f"{path} {doing}: it has {n} error{'s' if n != 1 else ''} ({detail}). "
        f"Run `chatloom validate {path}` to see every problem.",
        EXIT_PROBLEMS,
    )


# -- the database ---------------------------------------------------------------------------


def data_folder(data: Path | None) -> Path:
    from flows.db import default_data_dir

    return data.resolve() if data else default_data_dir()


def open_database(data: Path | None, *, create: bool = True) -> Engine | None:
    """The database of the data folder (or DATABASE_URL). With create=False, None when there is none yet,
    so that reading commands never leave an empty database behind."""
    from flows.db import database_url, make_engine

    if not os.environ.get("DATABASE_URL"):
        folder = data_folder(data)
        if folder.exists() and not folder.is_dir():
            raise CliError(f"The data folder {folder} is a file, not a folder.")
        if not create and not (folder / "chatloom.db").is_file():
            return None
        try:
            url = database_url(folder)
        except OSError as exc:
            raise CliError(f"The data folder {folder} cannot be used: {exc.strerror or exc}.") from None
    else:
        url = database_url()
    return make_engine(url)


def sealing_key(engine: Engine, data: Path | None) -> SecretBox:
    """The key that seals this database's secrets; CliError, before anything is written, when it is wrong."""
    from runtime.channels.secretbox import WrongKey, check_key, open_box

    try:
        box = open_box(data_folder(data))
        check_key(box, engine)
    except WrongKey as exc:
        raise CliError(str(exc), 1) from None
    return box


# -- commands -------------------------------------------------------------------------------


def _write_stdout(text: str) -> None:
    """Exactly these UTF-8 bytes on stdout, whatever the terminal's encoding."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def _schema(args: argparse.Namespace) -> int:
    from flows.document import flow_schema

    _write_stdout(shown_json(json.dumps(flow_schema(), indent=2, ensure_ascii=False)) + "\n")
    return 0


def _nodes(args: argparse.Namespace) -> int:
    found = registry()
    if args.json:
        out = {
            "nodes": [
                {
                    "type": i.node.type,
                    "version": i.node.version,
                    "category": i.node.category,
                    "title": i.node.title,
                    "distribution": i.distribution,
                }
                for i in found.installed()
            ],
            "rejected": [{"name": e.name, "distribution": e.distribution, "reason": e.reason} for e in found.errors],
        }
        _write_stdout(shown_json(json.dumps(out, indent=2, ensure_ascii=False)) + "\n")
        return 0
    lines = [
        f"{shown(i.node.type):<20} v{i.node.version}  {shown(i.node.category):<13} {shown(i.node.title)}  "
        f"({shown(i.distribution)})"
        for i in found.installed()
    ]
    if found.errors:
        lines += ["", "Plugins that could not be loaded:"]
        lines += [f"  {one_line(str(e))}" for e in found.errors]
    _write_stdout("\n".join(lines) + "\n")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from flows.validate import validate

    flow = read_flow(args.file)
    problems = validate(flow, registry())
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    lines = [one_line(str(p)) for p in problems]
    if not errors:
        lines.append("OK" if not warnings else f"OK with {warnings} warning{'s' if warnings != 1 else ''}")
    _write_stdout("".join(f"{line}\n" for line in lines))
    if errors:
        _say(f"{args.file}: {errors} error(s), {warnings} warning(s).")
        return EXIT_PROBLEMS
    return 0


def _import(args: argparse.Namespace) -> int:
    flow = read_flow(args.file)  # first: a bad file is refused before the database code even loads
    from flows.problems import FlowInvalid, has_errors
    from flows.store import FlowStore
    from flows.validate import validate

    catalog = registry()
    problems = validate(flow, catalog)
    if args.publish and has_errors(problems):  # refused before anything is saved
        raise refusal(args.file, flow, problems, catalog, "was not imported")
    engine = open_database(args.data)
    assert engine is not None
    store = FlowStore(engine)
    replaced = store.exists(flow.id)
    store.save_draft(flow)
    replacing = " (its previous draft was replaced)" if replaced else ""
    if args.publish:
        try:
            version = store.publish(flow.id, catalog, note=args.note)
        except FlowInvalid as exc:  # cannot happen after the check above, short of a plugin changing under us
            raise CliError(str(exc), EXIT_PROBLEMS) from None
        from runtime.audit import record_cli

        record_cli(engine, "flow.publish", flow.id, {"version": version})
        print(f"Imported {flow.id!r} and published it as version {version}{replacing}.")
    elif has_errors(problems):
        errors = sum(p.severity == "error" for p in problems)
        print(
            f"Imported {flow.id!r} as a draft{replacing}. It has {errors} error(s) and cannot be published "
            f"until they are fixed (see `chatloom validate {args.file}`)."
        )
    else:
        print(f"Imported {flow.id!r} as a draft{replacing}.")
    return 0


def _export(args: argparse.Namespace) -> int:
    from flows.document import dump_flow
    from flows.store import FlowNotFound, FlowStore
    from nodes.secrets import without_secrets

    engine = open_database(args.data, create=False)
    if engine is None:
        raise CliError(f"There is no flow {args.flow_id!r} (there is no database in {data_folder(args.data)} yet).")
    store = FlowStore(engine)
    try:
        published = args.version is not None
        flow = store.version(args.flow_id, args.version).flow if published else store.draft(args.flow_id)
    except FlowNotFound as exc:
        raise CliError(str(exc)) from None
    text = dump_flow(without_secrets(flow, registry()))  # a file travels: secret settings emptied
    if args.output is None or str(args.output) == "-":
        _write_stdout(shown_json(text))  # a file gets the canonical bytes; a screen, nothing it acts on
        return 0
    if args.output.is_dir():
        raise CliError(f"{args.output} is a folder; give a file name to write.")
    try:
        args.output.write_bytes(text.encode("utf-8"))
    except OSError as exc:
        raise CliError(f"{args.output} cannot be written: {exc.strerror or exc}.", EXIT_PROBLEMS) from None
    return 0


def _flows(args: argparse.Namespace) -> int:
    from flows.store import FlowStore

    engine = open_database(args.data, create=False)
    found = FlowStore(engine).list() if engine is not None else []
    if not found:
        print("No flows yet. Add one with `chatloom import FLOW.json`.")
        return 0
    lines = []
    for f in found:
        published = f"v{f.latest_version}" if f.latest_version else "draft only"
        lines.append(f"{shown(f.id):<24} {published:<11} {shown(f.name)}")
    _write_stdout("".join(f"{line}\n" for line in lines))
    return 0


def _chat(args: argparse.Namespace) -> int:
    flow = read_flow(args.file)  # first: a bad file is refused before the runtime even loads
    from flows.problems import has_errors
    from flows.validate import validate

    catalog = registry()
    problems = validate(flow, catalog)
    if has_errors(problems):
        raise refusal(args.file, flow, problems, catalog, "cannot run")
    from chatloom.chat import chat, parse_variables

    variables = parse_variables(flow, args.var)
    return chat(args.file, flow, catalog, as_json=args.json, fast=args.fast, variables=variables, user_id=args.user_id)


def _serve(args: argparse.Namespace) -> int:
    from chatloom.serve import serve

    return serve(
        host=args.host,
        port=args.port,
        data=args.data,
        examples=not args.no_examples,
        builder=args.command == "run",
        work=not args.no_worker,
    )


def _worker(args: argparse.Namespace) -> int:
    from chatloom.serve import work

    return work(data=args.data, health_host=args.health_host, health_port=args.health_port)

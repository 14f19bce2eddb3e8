"""`chatloom privacy export|erase`: answer a data-subject request for one end user from the terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from chatloom.deploy import CHANNELS
from chatloom.terminal import shown_json


def add_commands(command: Callable[..., argparse.ArgumentParser], data_option: Callable[[Any], None]) -> None:
    for name, run, text in (
        (
            "privacy-export",
            _export,
            "Write everything held about one end user as JSON (a data-subject access request).",
        ),
        ("privacy-erase", _erase, "Erase everything held about one end user: conversations, transcripts, memories…"),
    ):
        p = command(name, run, text)
        who = p.add_mutually_exclusive_group(required=True)
        who.add_argument("--user-id", metavar="ID", help="their id on the channel (e.g. a Telegram user id)")
        who.add_argument("--email", metavar="ADDRESS", help="an email address held anywhere about them")
        who.add_argument("--phone", metavar="NUMBER", help="a phone number held anywhere about them")
        p.add_argument("--channel", choices=(*CHANNELS, "api"), help="only on this channel (with --user-id)")
        if name == "privacy-export":
            p.add_argument("-o", "--output", metavar="FILE", help="file to write (default: standard output)")
        else:
            p.add_argument("--yes", action="store_true", help="really erase (it cannot be undone)")
        data_option(p)


def _privacy(args: argparse.Namespace) -> Any:
    from chatloom.cli import CliError, data_folder, open_database
    from nodes.registry import Registry
    from runtime.ai.setup import attach_ai
    from runtime.engine import Runtime
    from runtime.privacy import Privacy, SubjectNotFound
    from runtime.retention import Retention

    engine = open_database(args.data, create=False)
    if engine is None:
        raise CliError(f"There is no database in {data_folder(args.data)} yet.")
    runtime = Runtime(engine, Registry.from_entry_points())
    attach_ai(runtime, data_folder(args.data))
    Retention(runtime).apply()  # which transcripts are masked: what a search by email cannot find there
    privacy = Privacy(runtime)
    try:
        subject = privacy.find(
            user_id=args.user_id or "", email=args.email or "", phone=args.phone or "", channel=args.channel or ""
        )
    except SubjectNotFound as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return privacy, subject


def _export(args: argparse.Namespace) -> int:
    privacy, subject = _privacy(args)
    from runtime.audit import record_cli

    text = json.dumps(asyncio.run(privacy.export(subject)), ensure_ascii=False, indent=2, default=str)
    record_cli(privacy.engine, "privacy.export", detail={"conversations": len(subject.ids)})
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        print(f"Wrote what is held about that person ({len(subject.ids)} conversations) to {args.output}.")
    else:
        sys.stdout.write(shown_json(text) + "\n")  # what end users typed: nothing a terminal acts on
    return 0


def _erase(args: argparse.Namespace) -> int:
    from chatloom.cli import CliError

    privacy, subject = _privacy(args)
    if not args.yes:
        raise CliError(f"This erases {subject.summary()} and everything tied to them; add --yes.")
    counts = asyncio.run(privacy.erase(subject))
    from runtime.audit import record_cli

    record_cli(privacy.engine, "privacy.erase", detail=counts)  # by its counts: never whom it was about
    print("Erased: " + ", ".join(f"{n} {what}" for what, n in counts.items()) + ".")
    return 0

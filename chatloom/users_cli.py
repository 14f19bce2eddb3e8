"""`chatloom users create-owner`: the first account of a server, from the terminal."""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable
from typing import Any

PASSWORD_ENV = "CHATLOOM_OWNER_PASSWORD"


def add_commands(command: Callable[..., argparse.ArgumentParser], data_option: Callable[[Any], None]) -> None:
    p = command("users", _users, "Manage the accounts of people who build and run bots.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    owner = sub.add_parser(
        "create-owner",
        help="create the first account, with every right",
        description=f"Create the owner account. The password is asked for, or read from ${PASSWORD_ENV} "
        "(never an argument, which shell history and other users could read).",
    )
    owner.add_argument("--email", required=True)
    owner.add_argument("--name", default="")
    data_option(owner)


def _password() -> str:
    from chatloom.cli import CliError

    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    first = getpass.getpass("Password for the owner (12 characters or more): ")
    if getpass.getpass("The same password again: ") != first:
        raise CliError("The two passwords differ; nothing was created.")
    return first


def _users(args: argparse.Namespace) -> int:
    from chatloom.cli import CliError, open_database
    from runtime.accounts import AccountError, Accounts

    engine = open_database(args.data)
    assert engine is not None
    try:
        user = Accounts(engine).create_owner(args.email, _password(), args.name)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    print(f"Created the owner account {user.email}.")
    return 0

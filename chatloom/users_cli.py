"""`chatloom users …` and `chatloom tokens …`: accounts and API tokens from the server's terminal.

For headless servers and first runs: the owner account, a list of accounts, and API tokens for
programs. Each change goes into the audit log with "command line" as the actor.
"""

from __future__ import annotations

import argparse
import getpass
import os
import time
from collections.abc import Callable
from typing import Any

from chatloom.terminal import shown

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
    listing = sub.add_parser("list", help="list the accounts and their roles")
    data_option(listing)
    reset = sub.add_parser(
        "reset-password",
        help="set a new password for an account (e.g. an owner who forgot theirs); ends its sessions",
        description=f"Set a new password, asked for or read from ${PASSWORD_ENV}; every session of the account "
        "ends and its lockout is lifted.",
    )
    reset.add_argument("--email", required=True)
    data_option(reset)

    p = command("tokens", _tokens, "Make, list and revoke API tokens for the HTTP API.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    make = sub.add_parser(
        "create",
        help="make a token and print it (shown this once)",
        description="Make an API token for an account. It can do only what its scopes say, and never more than "
        "the account's role. Send it as: Authorization: Bearer <token>.",
    )
    make.add_argument("--email", required=True, help="the account the token acts for")
    make.add_argument("--name", required=True, help="what it is for, e.g. 'CRM sync'")
    make.add_argument(
        "--scope",
        action="append",
        metavar="RIGHT",
        help="a right it may use, e.g. chat, flows.read, conversations.read (may be repeated; default chat; "
        "all of them: docs/permissions.md)",
    )
    data_option(make)
    listing = sub.add_parser("list", help="list the tokens (never the tokens themselves)")
    data_option(listing)
    revoke = sub.add_parser("revoke", help="revoke a token by its id (the part after clt_)")
    revoke.add_argument("token_id", metavar="ID")
    data_option(revoke)


def _password() -> str:
    from chatloom.cli import CliError

    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    first = getpass.getpass("The password (12 characters or more): ")
    if getpass.getpass("The same password again: ") != first:
        raise CliError("The two passwords differ; nothing was created.")
    return first


def _access(args: argparse.Namespace) -> Any:
    from chatloom.cli import open_database
    from runtime.access import Access

    engine = open_database(args.data)
    assert engine is not None
    return Access(engine)


def _users(args: argparse.Namespace) -> int:
    from chatloom.cli import CliError
    from runtime.accounts import AccountError
    from runtime.audit import CLI

    access = _access(args)
    if args.action == "list":
        for user in access.accounts.users():
            print("\t".join(shown(x) for x in [user.email, user.role] + (["disabled"] if user.disabled else [])))
        return 0
    if args.action == "reset-password":
        found = access.accounts.by_email(args.email)
        if found is None:
            raise CliError(f"There is no account {args.email}; see `chatloom users list`.")
        try:
            access.accounts.reset_password(found.id, _password())
        except AccountError as exc:
            raise CliError(str(exc)) from None
        access.audit.record(CLI, "account.reset_password", found.email)
        print(f"The password of {found.email} is set; its sessions have ended.")
        return 0
    try:
        user = access.accounts.create_owner(args.email, _password(), args.name)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    access.audit.record(CLI, "account.create_owner", user.email)
    print(f"Created the owner account {user.email}.")
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from chatloom.cli import CliError
    from runtime.access import RIGHTS, rights_of
    from runtime.accounts import AccountError
    from runtime.audit import CLI

    access = _access(args)
    if args.action == "list":
        emails = {u.id: u.email for u in access.accounts.users()}
        for t in access.accounts.tokens():
            used = time.strftime("%Y-%m-%d %H:%M", time.localtime(t.last_used_at)) if t.last_used_at else "never"
            state = "revoked" if t.revoked else f"last used {used}"
            print("\t".join(shown(x) for x in (t.id, emails.get(t.user_id, "?"), t.name, " ".join(t.scopes), state)))
        return 0
    if args.action == "revoke":
        if not access.accounts.revoke_token(args.token_id):
            raise CliError(f"There is no live token {args.token_id}; see `chatloom tokens list`.")
        access.audit.record(CLI, "token.revoke", args.token_id)
        print(f"Revoked {args.token_id}.")
        return 0
    user = access.accounts.by_email(args.email)
    if user is None:
        raise CliError(f"There is no account {args.email}; see `chatloom users list`.")
    scopes = sorted(set(args.scope or ["chat"]))
    unknown = [s for s in scopes if s not in RIGHTS]
    if unknown:
        raise CliError(f"Not a right: {', '.join(unknown)}. The rights: {', '.join(RIGHTS)}.")
    beyond = [s for s in scopes if s not in rights_of(user.role)]
    if beyond:
        raise CliError(f"The role of {user.email} ({user.role}) does not hold: {', '.join(beyond)}.")
    try:
        token, text = access.accounts.create_token(user.id, args.name, scopes)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    access.audit.record(CLI, "token.create", token.id, {"name": token.name, "scopes": scopes, "for": user.email})
    print(text)
    return 0

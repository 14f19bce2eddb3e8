"""`chatloom deploy` and `chatloom channels`: bind a published flow to a channel account, and see
each channel's health, from the terminal (the builder's deployments page does the same)."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

from chatloom.terminal import shown

# the channels of runtime/channels/kinds.py, named here so that `chatloom --help` imports no runtime
CHANNELS = ("telegram", "slack", "whatsapp", "messenger", "instagram", "web")


def add_commands(command: Callable[..., argparse.ArgumentParser], data_option: Callable[[Any], None]) -> None:
    p = command("deploy", _deploy, "Answer on a channel account with a published flow version.")
    p.add_argument("channel", choices=CHANNELS, help="the platform")
    p.add_argument(
        "account", help="a name for this bot in Chatloom (letters, digits, - and _): part of its webhook address"
    )
    p.add_argument("flow_id", metavar="FLOW_ID")
    p.add_argument("--version", type=int, metavar="N", help="the published version (default: the latest)")
    p.add_argument(
        "--token-env",
        default=None,
        metavar="VAR",
        help="environment variable holding the bot token (default TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN); "
        "not an argument, which "
        "shell history and other users could read",
    )
    p.add_argument(
        "--api-base",
        default="",
        metavar="URL",
        help="the platform's API address (a self-hosted Telegram Bot API server)",
    )
    p.add_argument(
        "--webhook", metavar="URL", help="this server's public address; Chatloom tells Telegram to send updates there"
    )
    p.add_argument(
        "--move-running",
        action="store_true",
        help="move the conversations running on another version to this one, where they stand "
        "(default: they finish on theirs)",
    )
    p.add_argument("--pause", action="store_true", help="stop answering (events are acknowledged and dropped)")
    p.add_argument("--resume", action="store_true", help="answer again after --pause")
    data_option(p)
    p = command("channels", _channels, "List the channel deployments: flow, version, last event, last error, outbox.")
    data_option(p)


def _store(args: argparse.Namespace, create: bool = True) -> Any:
    from chatloom.cli import CliError, data_folder, open_database, sealing_key
    from runtime.channels.store import ChannelStore

    engine = open_database(args.data, create=create)
    if engine is None:
        raise CliError(f"There is no database in {data_folder(args.data)} yet.")
    return ChannelStore(engine, sealing_key(engine, args.data)), engine


def _deploy(args: argparse.Namespace) -> int:
    from chatloom.cli import CliError
    from flows.store import FlowNotFound, FlowStore
    from runtime.audit import record_cli
    from runtime.channels.kinds import ACCOUNT, ACCOUNT_RULE

    if not ACCOUNT.match(args.account):
        raise CliError(f"{args.account!r}: an account name is {ACCOUNT_RULE}.")
    store, engine = _store(args)
    if args.pause or args.resume:
        if store.deployment(args.channel, args.account) is None:
            raise CliError(f"There is no {args.channel} channel {args.account!r} to pause or resume.")
        store.set_paused(args.channel, args.account, args.pause)
        record_cli(engine, "channel.pause" if args.pause else "channel.resume", f"{args.channel}/{args.account}")
        print(f"{args.channel}/{args.account} {'paused' if args.pause else 'answering again'}.")
        return 0
    flows = FlowStore(engine)
    try:
        version = args.version or flows.latest_version(args.flow_id)
        flows.version(args.flow_id, version)
    except FlowNotFound as exc:
        raise CliError(f"{exc} Publish it first (`chatloom import FILE --publish`).") from None
    credentials = _credentials(args, store.deployment(args.channel, args.account))
    store.deploy(args.channel, args.account, args.flow_id, version, credentials, api_base=args.api_base)
    record_cli(engine, "channel.deploy", f"{args.channel}/{args.account}", {"flow": args.flow_id, "version": version})
    print(f"{args.channel}/{args.account} answers with {args.flow_id} version {version}.")
    if args.move_running:
        _move_running(args, engine, version)
    _say_where(args, credentials)
    return 0


def _say_where(args: argparse.Namespace, credentials: dict[str, Any]) -> None:
    """Where the platform sends its events, and what to paste into it; Telegram's registered."""
    from chatloom.cli import CliError
    from runtime.channels.kinds import KINDS

    path = f"/hooks/{args.channel}/{args.account}"
    if args.channel == "web":
        site = (args.webhook or "https://your.server").rstrip("/")
        print(f'Paste into your website: <script src="{site}/widget/{args.account}.js" async></script>')
        print(f"Preview: {site}/widget/{args.account}/preview")
    elif KINDS[args.channel].shows_verify_token:
        print(f"Callback URL: {(args.webhook or 'https://your.server').rstrip('/')}{path}")
        print(f"Verify token: {credentials['verify_token']}  (paste both into the app's Webhooks settings)")
    elif args.webhook and args.channel == "slack":
        print(f"Paste {args.webhook.rstrip('/')}{path} as the Request URL of Event Subscriptions and Interactivity.")
    elif args.webhook:
        from runtime.channels.telegram import Telegram

        url = args.webhook.rstrip("/") + path
        bot = Telegram(args.account, credentials, args.api_base)

        async def register() -> None:
            try:
                await bot.set_webhook(url)
            finally:
                await bot.close()

        try:
            asyncio.run(register())
        except Exception as exc:  # noqa: BLE001 - refused or unreachable: say so in words, keep the deployment
            raise CliError(f"Telegram did not take the webhook {url}: {bot.redact(exc)}", 1) from None
        print(f"Telegram sends updates to {url}.")
    else:
        print(f"Webhook path: {path} (run again with --webhook https://your.server to register it).")


def _move_running(args: argparse.Namespace, engine: Any, version: int) -> None:
    from nodes.registry import Registry
    from runtime.engine import Runtime

    runtime = Runtime(engine, Registry.from_entry_points())
    moved, stayed = asyncio.run(runtime.move(args.flow_id, version, channel=args.channel, account=args.account))
    print(f"{moved} running conversation(s) moved to version {version}", end="")
    print(f"; {stayed} finish on theirs (the step they wait at is not in it)." if stayed else ".")


def _credentials(args: argparse.Namespace, existing: Any) -> dict[str, Any]:
    """The deployment's credentials: from the environment, else those stored before."""
    from chatloom.cli import CliError
    from runtime.channels.kinds import KINDS, MissingCredential, credentials

    kind = KINDS[args.channel]

    def env(c: Any) -> str:
        return str(args.token_env) if args.token_env and c.key in ("token", "page_token") else str(c.env)

    given = {c.key: os.environ.get(env(c), "") for c in kind.credentials}
    try:
        return credentials(kind, given, existing.credentials if existing else None)
    except MissingCredential as exc:
        raise CliError(f"Set ${env(exc.credential)} (from {exc.credential.where}) and run this again.") from None


def _channels(args: argparse.Namespace) -> int:
    from chatloom.cli import one_line

    store, _ = _store(args, create=False)
    rows = store.deployments()
    if not rows:
        print("No channels deployed yet: see `chatloom deploy --help`.")
        return 0
    for r in rows:
        seen = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.last_event_at)) if r.last_event_at else "never"
        state = "paused" if r.paused else "answering"
        waiting = store.pending_count(r.channel, r.account)
        print(  # a platform's error text is a stranger's: escaped like every name
            shown(f"{r.channel}/{r.account}: {r.flow_id} v{r.version}, {state}; last event {seen}; outbox {waiting}")
            + (f"; last error: {one_line(r.last_error)}" if r.last_error else "")
        )
    dead = store.dead_letters()
    if dead:
        print(f"{len(dead)} message(s) could not be delivered (dead letters).")
    return 0


__all__ = ["add_commands"]

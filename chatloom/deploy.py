"""`chatloom deploy` and `chatloom channels`: bind a published flow to a channel account, and see
each channel's health, from the terminal (the builder's deployments page does the same)."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
TOKEN_ENV = {"telegram": "TELEGRAM_BOT_TOKEN", "slack": "SLACK_BOT_TOKEN"}  # where each bot token is read
SIGNING_ENV = "SLACK_SIGNING_SECRET"
META_CREDENTIALS = (("page_token", "META_PAGE_TOKEN"), ("app_secret", "META_APP_SECRET"))
WHATSAPP_CREDENTIALS = (
    ("token", "WHATSAPP_TOKEN"),
    ("phone_id", "WHATSAPP_PHONE_ID"),
    ("app_secret", "META_APP_SECRET"),
)


def add_commands(command: Callable[..., argparse.ArgumentParser], data_option: Callable[[Any], None]) -> None:
    p = command("deploy", _deploy, "Answer on a channel account with a published flow version.")
    p.add_argument(
        "channel", choices=["telegram", "slack", "messenger", "instagram", "whatsapp", "web"], help="the platform"
    )
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
    p.add_argument("--pause", action="store_true", help="stop answering (events are acknowledged and dropped)")
    p.add_argument("--resume", action="store_true", help="answer again after --pause")
    data_option(p)
    p = command("channels", _channels, "List the channel deployments: flow, version, last event, last error, outbox.")
    data_option(p)


def _store(args: argparse.Namespace, create: bool = True) -> Any:
    from chatloom.cli import CliError, data_folder, open_database
    from runtime.channels.secretbox import SecretBox
    from runtime.channels.store import ChannelStore

    engine = open_database(args.data, create=create)
    if engine is None:
        raise CliError(f"There is no database in {data_folder(args.data)} yet.")
    return ChannelStore(engine, SecretBox.for_data_folder(data_folder(args.data))), engine


def _deploy(args: argparse.Namespace) -> int:
    from chatloom.cli import CliError
    from flows.store import FlowNotFound, FlowStore

    if not ACCOUNT.match(args.account):
        raise CliError(f"{args.account!r}: an account name is letters, digits, - and _ (at most 100).")
    store, engine = _store(args)
    if args.pause or args.resume:
        if store.deployment(args.channel, args.account) is None:
            raise CliError(f"There is no {args.channel} channel {args.account!r} to pause or resume.")
        store.set_paused(args.channel, args.account, args.pause)
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
    print(f"{args.channel}/{args.account} answers with {args.flow_id} version {version}.")
    path = f"/hooks/{args.channel}/{args.account}"
    if args.channel == "web":
        site = (args.webhook or "https://your.server").rstrip("/")
        print(f'Paste into your website: <script src="{site}/widget/{args.account}.js" async></script>')
        print(f"Preview: {site}/widget/{args.account}/preview")
    elif args.channel in ("messenger", "instagram", "whatsapp"):
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
    return 0


def _credentials(args: argparse.Namespace, existing: Any) -> dict[str, Any]:
    """The deployment's credentials: from the environment, else those stored before."""
    from chatloom.cli import CliError

    credentials = dict(existing.credentials) if existing else {}
    if args.channel == "web":
        return credentials  # a public chat on a website: nothing to keep secret
    if args.channel in ("messenger", "instagram", "whatsapp"):
        needed = META_CREDENTIALS if args.channel != "whatsapp" else WHATSAPP_CREDENTIALS
        for key, env in needed:
            if os.environ.get(env):
                credentials[key] = os.environ[env]
            if not credentials.get(key):
                raise CliError(f"Set ${env} (from your Meta app's dashboard) and run this again.")
        credentials.setdefault("verify_token", secrets.token_urlsafe(24))
        return credentials
    token_env = args.token_env or TOKEN_ENV[args.channel]
    if os.environ.get(token_env):
        credentials["token"] = os.environ[token_env]
    if not credentials.get("token"):
        where = "@BotFather" if args.channel == "telegram" else "your Slack app's OAuth page"
        raise CliError(f"Set the bot token in ${token_env} (from {where}) and run this again.")
    if args.channel == "slack":
        if os.environ.get(SIGNING_ENV):
            credentials["signing_secret"] = os.environ[SIGNING_ENV]
        if not credentials.get("signing_secret"):
            raise CliError(
                f"Set the app's signing secret in ${SIGNING_ENV} (Basic Information page) and run this again."
            )
    else:
        credentials.setdefault("secret_token", secrets.token_urlsafe(32))
    return credentials


def _channels(args: argparse.Namespace) -> int:
    store, _ = _store(args, create=False)
    rows = store.deployments()
    if not rows:
        print("No channels deployed yet: see `chatloom deploy --help`.")
        return 0
    for r in rows:
        seen = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.last_event_at)) if r.last_event_at else "never"
        state = "paused" if r.paused else "answering"
        waiting = store.pending_count(r.channel, r.account)
        print(
            f"{r.channel}/{r.account}: {r.flow_id} v{r.version}, {state}; last event {seen}; outbox {waiting}"
            + (f"; last error: {r.last_error}" if r.last_error else "")
        )
    dead = store.dead_letters()
    if dead:
        print(f"{len(dead)} message(s) could not be delivered (dead letters).")
    return 0


__all__ = ["add_commands"]

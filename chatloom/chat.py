"""`chatloom chat`: talk to a flow file in the terminal, through the real runtime on an in-memory database.

The flow file and every other flow file in its folder (so that `flow.call` finds its sub-flows)
are saved and published into a fresh in-memory database; then the conversation runs turn by
turn. After each answer the chat waits while the conversation sleeps (a wait node, a timer)
and reads the next line only once the flow waits for the user; it ends when the flow ends.

With --json, stdin holds one user message per line and stdout gets one JSON object per bot
message (`Outbound.to_json()`), nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from chatloom.cli import CliError, one_line, parse_flow_bytes, read_flow_bytes
from chatloom.terminal import shown, shown_json
from flows.models import VARIABLE_PATTERN, Flow
from flows.problems import has_errors
from flows.validate import validate
from nodes.api import Button, Inbound, Media, Outbound
from nodes.registry import Registry

if TYPE_CHECKING:
    from runtime.engine import Runtime

log = logging.getLogger("chatloom.chat")

FAST = 0.001  # --fast: waits and timeouts a thousand times shorter
POLL = 0.01  # first look at a sleeping conversation; then less and less often, up to:
POLL_SLEEPING = 0.25
POLL_WAITING = 0.25  # while waiting for a line: has a timer moved the conversation on?
MEDIA_KINDS = ("image", "audio", "video", "file")
MESSAGE_KEYS = {"text", "choice", "media", "event_id"}
_END_OF_INPUT = object()
_MOVED = object()  # a timer moved the conversation on while we waited for a line


def chat(
    path: Path, flow: Flow, registry: Registry, *, as_json: bool, fast: bool, variables: dict[str, Any], user_id: str
) -> int:
    """Publish the flow (and the flows beside it, for sub-flows), then chat until it ends or input ends."""
    from flows.db import default_data_dir, make_engine
    from runtime.ai.setup import attach_ai
    from runtime.engine import Runtime

    runtime = Runtime(make_engine("sqlite://"), registry, wait_scale=FAST if fast else 1.0, test_mode=fast)
    attach_ai(runtime, default_data_dir())  # models.toml and memories of the data folder
    runtime.flows.save_draft(flow)
    runtime.flows.publish(flow.id, registry)
    load_folder(runtime, path, flow, registry)
    _setup_streams(as_json)
    session = Session(runtime, flow, as_json=as_json, variables=variables, user_id=user_id)
    return asyncio.run(session.run())


def parse_variables(flow: Flow, items: Sequence[str]) -> dict[str, Any]:
    """`--var NAME=VALUE` items, each converted to the type the flow declares for it."""
    declared = {v.name: v.type for v in flow.variables}
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CliError(f"--var takes NAME=VALUE, not {item!r}.")
        if not re.match(VARIABLE_PATTERN, name):
            raise CliError(f"--var {name!r}: a name is letters, digits and _, and does not start with a digit.")
        if name == "user":
            raise CliError("--var user: the flow's `user` variable is set by --user-id.")
        out[name] = _convert(name, text, declared.get(name, "any"))
    return out


def _convert(name: str, text: str, kind: str) -> Any:
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise CliError(f"--var {name}: the flow declares a number, not {text!r}.") from None
        return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
    if kind == "boolean":
        lowered = text.strip().casefold()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off", ""):
            return False
        raise CliError(f"--var {name}: the flow declares true or false, not {text!r}.")
    if kind in ("list", "object"):
        wanted = list if kind == "list" else dict
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, wanted):
            example = "[...]" if kind == "list" else "{...}"
            raise CliError(f"--var {name}: the flow declares a {kind}; give it as JSON, like {example}.")
        return value
    return text


def load_folder(runtime: Runtime, path: Path, main: Flow, registry: Registry) -> None:
    """Publish the other flows in the file's folder; warn about sub-flow calls that cannot be followed."""
    loaded: dict[str, Flow] = {main.id: main}
    broken: dict[str, str] = {}  # flow id → file name, for flows with errors
    here = path.resolve()
    for other in sorted(here.parent.glob("*.json")):
        if other.resolve() == here:
            continue
        try:
            flow = parse_flow_bytes(read_flow_bytes(other), other.name)
        except CliError:
            continue  # not a flow: the folder may hold other files
        if flow.id in loaded:
            log.warning("%s skipped: a flow with the id %r is loaded already", other.name, flow.id)
            continue
        if has_errors(validate(flow, registry)):
            broken[flow.id] = other.name
            continue
        runtime.flows.save_draft(flow)
        runtime.flows.publish(flow.id, registry)
        loaded[flow.id] = flow
    for flow in loaded.values():
        for node in flow.nodes:
            called = node.settings.get("flow_id") if node.type == "flow.call" else None
            if not isinstance(called, str) or called in loaded:
                continue
            if called in broken:
                log.warning(
                    "node %s of %r runs the flow %r, but %s has errors (see `chatloom validate %s`)",
                    node.id,
                    flow.id,
                    called,
                    broken[called],
                    here.parent / broken[called],
                )
            else:
                log.warning("node %s of %r runs the flow %r, which is not in %s", node.id, flow.id, called, here.parent)


def _setup_streams(as_json: bool) -> None:
    """JSON is UTF-8 whatever the locale; a stray byte on stdin never stops the chat."""
    for stream in (sys.stdin, sys.stdout):
        if stream is not None and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                if as_json:
                    stream.reconfigure(encoding="utf-8", errors="replace")
                else:
                    stream.reconfigure(errors="replace")


class _BadLine(ValueError):
    """A line that cannot be sent; the message says why."""


class Session:
    """One terminal chat: prints what the bot says (when it says it) and sends what the user types."""

    def __init__(self, runtime: Runtime, flow: Flow, *, as_json: bool, variables: dict[str, Any], user_id: str) -> None:
        self.runtime, self.flow, self.as_json = runtime, flow, as_json
        self.variables, self.user_id = variables, user_id
        self.buttons: tuple[Button, ...] = ()
        self.cid = ""
        self.line_no = 0
        self.prompting = False
        self.lines: asyncio.Queue[object] = asyncio.Queue()
        self.spoke = asyncio.Event()  # set whenever the runtime saves a turn that says something
        self.interactive = not as_json and sys.stdin is not None and sys.stdin.isatty()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        threading.Thread(target=_read_lines, args=(sys.stdin, loop, self.lines), daemon=True).start()
        await self.runtime.startup()
        self.runtime.subscribe(self._heard)
        try:
            if not self.as_json:
                self._note(
                    f"Chatting with “{shown(self.flow.name)}”. A button's number or title picks it; "
                    "/restart starts over; /quit or Ctrl+D leaves."
                )
            await self._start()
            while True:
                status = await self._settle()
                if status != "waiting":
                    if not self.as_json:
                        self._note("— the conversation has ended —" if status == "ended" else "— the flow failed —")
                    return 0
                line = await self._next_line()
                if line is _MOVED:
                    continue
                if line is _END_OF_INPUT:
                    return 0
                assert isinstance(line, str)
                command = line.strip()
                if not self.as_json and command == "/quit":
                    return 0
                if not self.as_json and command == "/restart":
                    await self._start()
                    continue
                try:
                    inbound = self.inbound(line)
                except _BadLine as exc:
                    log.warning("line %d not sent: %s", self.line_no, exc)
                    continue
                await self.runtime.send(self.cid, inbound)
        finally:
            await self.runtime.shutdown()

    async def _start(self) -> None:
        self.buttons = ()
        self.cid = uuid.uuid4().hex  # known before the first turn, whose messages the listener prints
        await self.runtime.start(
            self.flow.id, user_id=self.user_id, channel="cli", variables=dict(self.variables), conversation_id=self.cid
        )

    def _status(self) -> str:
        state = self.runtime.store.load(self.cid)
        return state.status if state is not None else "failed"

    async def _settle(self) -> str:
        """Wait while the conversation sleeps (its timers print what it says); then its status."""
        pause = POLL
        while True:
            status = self._status()
            if status in ("waiting", "ended", "failed"):
                return status
            self.spoke.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.spoke.wait(), pause)
            pause = POLL if self.spoke.is_set() else min(pause * 2, POLL_SLEEPING)

    async def _next_line(self) -> object:
        """The next line typed, end of input, or _MOVED when a timer (a reply timeout) moved the flow on."""
        self._prompt()
        try:
            while True:
                try:
                    line = await asyncio.wait_for(self.lines.get(), POLL_WAITING)
                except TimeoutError:
                    if self._status() != "waiting":
                        return _MOVED
                    continue
                if line is not _END_OF_INPUT:
                    self.line_no += 1
                    assert isinstance(line, str)
                    line = line.rstrip("\r\n")
                return line
        finally:
            self.prompting = False

    def inbound(self, line: str) -> Inbound:
        """A typed line; a button's number or title presses it; a `{...}` line is a message object."""
        if line.lstrip().startswith("{"):
            return _message_object(line)
        wanted = " ".join(line.split()).casefold()
        if wanted:
            for number, button in enumerate(self.buttons, 1):
                if wanted in (str(number), " ".join(button.title.split()).casefold()):
                    return Inbound(text=button.title, choice=button.value or button.title)
        return Inbound(text=line)

    # -- output ---------------------------------------------------------------------------

    def _heard(self, cid: str, messages: Sequence[Outbound]) -> None:
        """The runtime saved a turn of this conversation (an answer, or a timer that fired)."""
        if cid != self.cid or not messages:
            return
        self.spoke.set()
        with_buttons = [m.buttons for m in messages if m.buttons]
        if with_buttons:
            self.buttons = with_buttons[-1]
        elif any(m.text != self.runtime.fallback_text for m in messages):
            self.buttons = ()  # a new question without buttons: numbers are plain answers again
        self._show(messages)

    def _show(self, messages: Sequence[Outbound]) -> None:
        out = []
        typing = self.prompting and self.interactive
        if typing:  # a timer spoke while the user was typing
            out.append("")
        for message in messages:
            if self.as_json:
                out.append(shown_json(json.dumps(message.to_json(), ensure_ascii=False)))
                continue
            if message.text:  # what a flow says is the flow's: shown, never obeyed by the terminal
                first, *rest = [shown(line) for line in message.text.splitlines()] or [""]
                out.append(f"bot> {first}")
                out += [f"     {line}" for line in rest]
            if message.media is not None:
                name = f" {shown(message.media.name)}" if message.media.name else ""
                out.append(f"     [{shown(message.media.kind)}{name}: {shown(message.media.url)}]")
            for number, button in enumerate(message.buttons, 1):
                out.append(f"     {number}) {shown(button.title)}")
            if message.multiple and message.buttons:
                out.append("     (pick several: one at a time, or as a list like “1, 3”)")
        _print("\n".join(out))
        if typing:
            self._prompt()

    def _note(self, text: str) -> None:
        _print(text)

    def _prompt(self) -> None:
        self.prompting = True
        if self.interactive:
            sys.stdout.write("you> ")
            sys.stdout.flush()


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _message_object(line: str) -> Inbound:
    """A JSON line {"text", "choice", "media"} as a message, or _BadLine saying what is wrong."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise _BadLine(f"it starts with {{ but is not a JSON object ({exc})") from None
    if not isinstance(data, dict):
        raise _BadLine("it starts with { but is not a JSON object")
    unknown = sorted(set(data) - MESSAGE_KEYS)
    if unknown:
        raise _BadLine(f"unknown key(s) {', '.join(map(repr, unknown))}; a message has text, choice and media")
    text, choice, media, event_id = data.get("text", ""), data.get("choice"), data.get("media"), data.get("event_id")
    if not isinstance(text, str):
        raise _BadLine("'text' must be a string")
    if choice is not None and not isinstance(choice, str | int | float):
        raise _BadLine("'choice' must be a string (the value of the button pressed)")
    if event_id is not None and not isinstance(event_id, str):
        raise _BadLine("'event_id' must be a string")
    return Inbound(
        text=text,
        choice=None if choice is None else str(choice),
        media=None if media is None else _media(media),
        event_id=event_id,
    )


def _media(data: Any) -> Media:
    if not isinstance(data, dict) or data.get("kind") not in MEDIA_KINDS or not isinstance(data.get("url"), str):
        raise _BadLine(f"'media' needs a 'kind' ({', '.join(MEDIA_KINDS)}) and a 'url'")
    unknown = sorted(set(data) - {"kind", "url", "name", "mime", "duration"})
    if unknown:
        raise _BadLine(f"'media' has unknown key(s) {', '.join(map(repr, unknown))}")
    name, mime, duration = data.get("name", ""), data.get("mime", ""), data.get("duration")
    if not isinstance(name, str) or not isinstance(mime, str):
        raise _BadLine("'media' name and mime must be strings")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float)):
        raise _BadLine("'media' duration must be a number of seconds")
    return Media(kind=data["kind"], url=data["url"], name=name, mime=mime, duration=duration)


def _read_lines(stream: TextIO | None, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[object]) -> None:
    """Read stdin in a daemon thread (Ctrl+C never waits for it); end of input is _END_OF_INPUT."""

    def put(item: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: the chat is over
            loop.call_soon_threadsafe(lines.put_nowait, item)

    try:
        if stream is not None:
            while True:
                line = stream.readline()
                if not line:
                    break
                put(line)
    except (OSError, ValueError) as exc:
        log.warning("standard input cannot be read: %s", one_line(str(exc)))
    finally:
        put(_END_OF_INPUT)

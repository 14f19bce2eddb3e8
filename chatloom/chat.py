"""`chatloom chat`: talk to a flow file in the terminal, through the real runtime on an in-memory database."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from chatloom.cli import EXIT_PROBLEMS, CliError, read_flow
from flows.db import make_engine
from flows.document import DocumentError, parse_flow
from flows.problems import has_errors
from flows.validate import validate
from nodes.api import Button, Inbound, Media, Outbound
from nodes.registry import Registry
from runtime.engine import Runtime

FAST = 0.001


def chat(path: Path, *, as_json: bool, fast: bool, variables: dict[str, Any], user_id: str) -> int:
    """Load the flow (and the flows beside it, for sub-flows), then chat until input ends."""
    flow = read_flow(path)
    registry = Registry.from_entry_points()
    problems = validate(flow, registry)
    if has_errors(problems):
        for problem in problems:
            print(problem, file=sys.stderr)
        raise CliError(f"{path} cannot run: it has errors (listed above).", EXIT_PROBLEMS)
    runtime = Runtime(make_engine("sqlite://"), registry, wait_scale=FAST if fast else 1.0, test_mode=True)
    runtime.flows.save_draft(flow)
    runtime.flows.publish(flow.id, registry)
    for other in sorted(path.resolve().parent.glob("*.json")):
        if other.resolve() == path.resolve():
            continue
        try:
            sibling = parse_flow(other.read_bytes())
        except (DocumentError, OSError):
            continue  # not a flow: the folder may hold other files
        if sibling.id != flow.id and not has_errors(validate(sibling, registry)):
            runtime.flows.save_draft(sibling)
            runtime.flows.publish(sibling.id, registry)
    return asyncio.run(_Session(runtime, flow.id, as_json, variables, user_id).run())


class _Session:
    def __init__(self, runtime: Runtime, flow_id: str, as_json: bool, variables: dict[str, Any], user_id: str) -> None:
        self.runtime, self.flow_id, self.as_json = runtime, flow_id, as_json
        self.variables, self.user_id = variables, user_id
        self.buttons: tuple[Button, ...] = ()
        self.said: asyncio.Queue[list[Outbound]] = asyncio.Queue()
        self.cid = ""

    async def run(self) -> int:
        await self.runtime.startup()
        self.runtime.subscribe(lambda _cid, messages: self.said.put_nowait(list(messages)))
        try:
            self.cid, _ = await self.runtime.start(self.flow_id, user_id=self.user_id, variables=self.variables)
            await self._settle()
            while True:
                line = await asyncio.to_thread(sys.stdin.readline)
                if not line:
                    return 0
                line = line.rstrip("\r\n")
                if not self.as_json and line.strip() == "/quit":
                    return 0
                if not self.as_json and line.strip() == "/restart":
                    self.cid, _ = await self.runtime.start(self.flow_id, user_id=self.user_id, variables=self.variables)
                else:
                    await self.runtime.send(self.cid, self._inbound(line))
                await self._settle()
        finally:
            await self.runtime.shutdown()

    def _inbound(self, line: str) -> Inbound:
        """A typed line; a button's number or title presses it; `{...}` lines may carry choice or media."""
        if self.as_json and line.lstrip().startswith("{"):
            try:
                data = json.loads(line)
                media = data.get("media")
                return Inbound(
                    text=str(data.get("text", "")), choice=data.get("choice"), media=Media(**media) if media else None
                )
            except (ValueError, TypeError, AttributeError):
                pass  # not a message object: treat it as text
        wanted = line.strip().casefold()
        for number, button in enumerate(self.buttons, 1):
            if wanted in (str(number), button.title.casefold()):
                return Inbound(text=button.title, choice=button.value or button.title)
        return Inbound(text=line)

    async def _settle(self) -> None:
        """Print what the bot says until it waits for the user (or the conversation ends)."""
        while True:
            while not self.said.empty():
                self._show(self.said.get_nowait())
            state = self.runtime.store.load(self.cid)
            if state is None or state.status != "sleeping":
                if state is not None and state.status in ("ended", "failed") and not self.as_json:
                    print("— the conversation has ended; type to start again, or /quit —")
                return
            try:
                self._show(await asyncio.wait_for(self.said.get(), timeout=0.5))
            except TimeoutError:
                continue

    def _show(self, messages: list[Outbound]) -> None:
        for message in messages:
            if message.buttons:
                self.buttons = message.buttons
            if self.as_json:
                print(json.dumps(message.to_json(), ensure_ascii=False), flush=True)
                continue
            if message.text:
                print(f"bot> {message.text}")
            if message.media is not None:
                print(f"     [{message.media.kind}: {message.media.url}]")
            for number, button in enumerate(message.buttons, 1):
                print(f"     {number}) {button.title}")
        sys.stdout.flush()

"""The test chat: talk to a flow's current draft through the real runtime, beside the canvas.

Each panel has its own runtime on an in-memory database, holding copies of the drafts (so
sub-flows resolve), in test mode: drafts run without publishing, and waits are a hundred times
shorter. Nothing a test conversation does reaches the real conversations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from nicegui import ui

from builder.access import visitor
from builder.cards import card_data
from builder.context import Builder
from builder.i18n import N_, _
from flows.db import make_engine
from flows.links import is_safe_link
from flows.models import Flow
from nodes.api import Button, Inbound, Media, Outbound, Services
from runtime.ai.tester import share_ai
from runtime.engine import DRAFT, Runtime
from runtime.media import ROUTE as MEDIA_ROUTE

TEST_WAIT_SCALE = 0.01
READY_SECONDS = 10  # how long an answer typed while the conversation starts waits for it
RECORD_SECONDS = 60
# Records from the microphone (MediaRecorder: WebM/Opus in Chrome and Firefox), then hands the
# recording to Python as a data: URL. Browsers allow the microphone on https and on localhost only.
RECORD_JS = """
(async () => {
  const w = window;
  if (w.__chatloomRec && w.__chatloomRec.state === "recording") { w.__chatloomRec.stop(); return; }
  let stream;
  try { stream = await navigator.mediaDevices.getUserMedia({ audio: true }); }
  catch (e) { emitEvent("%(event)s", { error: String(e && e.name || e) }); return; }
  const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
  const rec = new MediaRecorder(stream, type ? { mimeType: type } : {});
  const parts = [];
  rec.ondataavailable = (e) => parts.push(e.data);
  rec.onstop = () => {
    stream.getTracks().forEach((t) => t.stop());
    const reader = new FileReader();
    reader.onload = () => emitEvent("%(event)s", { url: reader.result, mime: rec.mimeType });
    reader.readAsDataURL(new Blob(parts, { type: rec.mimeType }));
  };
  w.__chatloomRec = rec;
  rec.start();
  setTimeout(() => rec.state === "recording" && rec.stop(), %(limit)d);
})();
"""


# a message as the messengers show it: plain text, its line breaks kept (the steps' forms preview it so)
BUBBLE = "max-w-[85%] whitespace-pre-wrap break-words rounded-2xl px-3 py-1 text-sm"
UNSET = N_("not set yet")  # compared with what is shown, so translated where it is used


def shown_value(value: Any) -> str:
    """A variable's value as a person reads it: no Python (None, True, quotes, brackets)."""
    if value is None:
        return _(UNSET)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(shown_value(v) for v in value) or _("(empty list)")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)[:500]
    return str(value)[:500] if str(value) else _("(empty)")


class ChatPanel:
    """A chat with the draft of `flow_id`; `on_node` is told which node is running (for highlighting)."""

    def __init__(
        self,
        builder: Builder,
        flow_id: str,
        on_node: Callable[[str | None], Any] | None = None,
        flow: Flow | None = None,
    ) -> None:
        """Chat with the draft of `flow_id`, or with `flow` itself (a template not saved anywhere)."""
        self.builder, self.flow_id, self.on_node, self.flow = builder, flow_id, on_node, flow
        self.runtime: Runtime | None = None
        self.cid = ""
        # set once the conversation is under way: the bot's first words show before the runtime has
        # said which conversation they belong to, and an answer typed then waits for it
        self.ready = asyncio.Event()
        self.buttons: tuple[Button, ...] = ()
        self.recording = False
        self.shown: tuple[Any, ...] = ()
        self.value_labels: dict[str, ui.label] = {}
        self.step_words: dict[str | None, str] = {}  # step id → the step in words (cleared at each restart)
        with ui.column().classes("w-full gap-2").mark("chat") as self.root:
            with ui.row().classes("w-full items-center gap-1 no-wrap") as self.header:  # the editor adds dock buttons
                ui.label(_("Test chat")).classes("text-lg font-medium")
                restart = ui.button(icon="restart_alt", on_click=self.restart).props("flat dense")
                restart.tooltip(_("Restart")).mark("restart")
                restart.props["aria-label"] = _("Restart the conversation")
            self.log = ui.column().classes("w-full gap-1").mark("chat-log")
            self.choices = ui.row().classes("gap-1")
            with ui.row().classes("w-full items-center no-wrap gap-1"):
                self.entry = (
                    ui.input(placeholder=_("Type a message")).props("dense outlined").classes("grow").mark("chat-input")
                )
                self.mic = (
                    ui.button(icon="mic", on_click=self._toggle_recording)
                    .props("flat dense round")
                    .tooltip(_("Record a voice message (click again to send)"))
                    .mark("chat-mic")
                )
                self.mic.props["aria-label"] = _("Record a voice message")
            self.entry.on("keydown.enter", self._send_typed)
            self.state_line = ui.label().classes("text-xs text-gray-600").mark("chat-status")
            self.again = ui.button(_("Start again"), icon="restart_alt", on_click=self.restart).props("outline dense")
            self.again.mark("chat-again").set_visibility(False)
            ui.label(_("Variables")).classes("text-xs font-semibold uppercase tracking-wide text-gray-500 mt-2")
            self.variables = ui.column().classes("w-full gap-0 text-xs").mark("variables")
        self.voice_event = f"chatloom-voice-{self.root.id}"
        ui.on(self.voice_event, lambda e: self.say_voice(e.args or {}))
        ui.timer(0.2, self._poll)
        ui.timer(0.01, self.restart, once=True)
        ui.context.client.on_disconnect(self.close)

    async def close(self) -> None:
        """Stop this panel's runtime (its timers) when the page goes away."""
        if self.runtime is not None:
            await self.runtime.shutdown()
            self.runtime = None

    async def restart(self) -> None:
        """A fresh conversation on the current draft (and fresh copies of every other draft)."""
        self.ready.clear()
        self.cid = ""
        try:
            await self._restart()
        finally:
            self.ready.set()

    async def _restart(self) -> None:
        await self.close()
        shared = self.builder.runtime.services  # AI steps use the server's own models, memory and voices
        # the draft's workspace's secrets and private addresses it may reach, through the server's outbound guard
        services = Services(http=shared.http, http_for=shared.http_for, secrets_for=shared.secrets_for)
        share_ai(shared, services)
        runtime = Runtime(
            make_engine("sqlite://"),
            self.builder.registry,
            services=services,
            test_mode=True,
            wait_scale=TEST_WAIT_SCALE,
        )
        for summary in self.builder.flows.list():
            runtime.flows.save_draft(self.builder.flows.draft(summary.id))
        if self.flow is not None:
            runtime.flows.save_draft(self.flow)
        await runtime.startup()
        runtime.subscribe(lambda _cid, messages: self._show(messages))
        self.runtime = runtime
        self.log.clear()
        self.step_words.clear()
        self.buttons = ()
        self.choices.clear()
        try:
            self.cid = (await runtime.start(self.flow_id, version=DRAFT, user_id="tester"))[0]
        except Exception as exc:  # noqa: BLE001 - an unfinished draft is normal here; say why it cannot run
            with self.log:
                said = _("This draft cannot run yet: {reason}", reason=exc)
                ui.label(said).classes("text-negative").mark("chat-error")
        self._status()

    async def say(self, text: str, choice: str | None = None) -> bool:
        """Send a message as the tester; False if there is no conversation to send it to."""
        if not self.ready.is_set():  # typed while the conversation starts: once it has
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), READY_SECONDS)
        if self.runtime is None or not self.cid or not visitor().may("flows.edit"):
            return False
        with self.log:
            ui.label(text).classes(f"self-end rounded-tr-sm bg-blue-100 {BUBBLE}").mark("chat-user")
        await self.runtime.send(self.cid, Inbound(text, choice=choice))
        self._status()
        return True

    def _toggle_recording(self) -> None:
        self.recording = not self.recording
        self.mic.props(
            f"icon={'stop' if self.recording else 'mic'} color={'negative' if self.recording else 'primary'}"
        )
        ui.run_javascript(RECORD_JS % {"event": self.voice_event, "limit": RECORD_SECONDS * 1000})

    async def say_voice(self, recorded: dict[str, Any]) -> None:
        """Send a recording as the tester: {"url": data URL, "mime": …}, or {"error": why not}."""
        self.recording = False
        self.mic.props("icon=mic color=primary")
        if recorded.get("error") or not str(recorded.get("url", "")).startswith("data:"):
            with self.log:
                why = recorded.get("error") or _("no sound")
                said = _("The microphone could not be used ({reason}).", reason=why)
                ui.label(said).classes("text-negative").mark("chat-error")
            return
        if self.runtime is None or not self.cid:
            return
        url, mime = str(recorded["url"]), str(recorded.get("mime") or "audio/webm")
        with self.log:
            ui.audio(url).classes("self-end").mark("chat-user-voice")
        await self.runtime.send(self.cid, Inbound(media=Media(kind="audio", url=url, mime=mime)))
        self._status()

    async def _send_typed(self) -> None:
        text = (self.entry.value or "").strip()
        self.entry.value = ""
        if text and self._ended():  # the flow would start over without a word: say so instead
            ui.notify(_("This conversation has ended. Press “Start again” to talk to the bot from the beginning."))
            return
        if text:
            pressed = next((b for b in self.buttons if b.title.casefold() == text.casefold()), None)
            if not await self.say(text, pressed.value if pressed else None):
                self.entry.value = text  # not sent: the words stay in the box, not lost

    def _show(self, messages: list[Outbound] | Any) -> None:
        self.buttons = ()
        self.choices.clear()
        for message in messages:
            with self.log:
                if message.text:
                    ui.label(message.text).classes(f"self-start rounded-tl-sm bg-gray-100 {BUBBLE}").mark("chat-bot")
                if message.feedback:
                    self._thumbs(message.feedback)
                if message.media is not None and message.media.kind == "audio":
                    ui.audio(message.media.url).mark("chat-bot-voice")  # the bot's spoken reply, served by /media/
                elif message.media is not None:
                    self._attachment(message.media)
            if message.buttons:
                self.buttons = message.buttons
                self.choices.clear()
                with self.choices:
                    for b in message.buttons:
                        ui.button(b.title, on_click=lambda _, b=b: self.say(b.title, b.value)).props(
                            "outline dense"
                        ).mark(f"choice-{b.title}")

    def _attachment(self, media: Media) -> None:
        """A file the bot sent, as a link that opens in a new tab: only web links (or the bot's own
        files) are links at all, so a `javascript:` address from a flow or plugin is never one."""
        label = f"[{media.kind}] {media.name or media.url}"
        if is_safe_link(media.url) or media.url.startswith(MEDIA_ROUTE):
            ui.link(label, media.url, new_tab=True).props('rel="noopener noreferrer"').mark("chat-bot-file")
        else:
            said = _("{file} (this address cannot be opened)", file=label)
            ui.label(said).classes("text-gray-500").mark("chat-bot-file")

    def _thumbs(self, call_id: str) -> None:
        """👍/👎 under an AI answer: counted on the Models page beside the users' own ratings."""
        ai = self.builder.runtime.ai
        if ai is None:
            return
        with ui.row().classes("gap-0 -mt-1") as row:

            def rate(score: int) -> None:
                ai.calls.rate(call_id, score)
                row.clear()
                with row:
                    said = _("👍 thanks") if score > 0 else _("👎 noted")
                    ui.label(said).classes("text-xs text-gray-500").mark("rated")

            ui.button("👍", on_click=lambda: rate(1)).props("flat dense size=sm").mark("thumbs-up")
            ui.button("👎", on_click=lambda: rate(-1)).props("flat dense size=sm").mark("thumbs-down")

    def _ended(self) -> bool:
        state = self.runtime.store.load(self.cid) if self.runtime and self.cid else None
        return state is not None and state.status in ("ended", "failed")

    def _status(self) -> None:
        state = self.runtime.store.load(self.cid) if self.runtime and self.cid else None
        if state is None:
            return
        if state.node not in self.step_words:  # polled five times a second: the draft is read once per step
            self.step_words[state.node] = self._step_words(state.node)
        where = self.step_words[state.node]
        words = {
            "waiting": _("Waiting for an answer at {step}", step=where),
            "sleeping": _("Waiting for a timer at {step}", step=where),
            "ended": _("The conversation has ended."),
            "failed": _("The conversation stopped: a step failed."),
        }.get(state.status) or _("Starting…")
        shown = {k: v for k, v in state.vars.items() if k != "user"}
        key = (words, tuple((k, shown_value(v)) for k, v in shown.items()))
        if key != self.shown:  # polled five times a second: redraw only what changed
            self.shown = key
            self.state_line.text = words
            self.again.set_visibility(state.status in ("ended", "failed"))
            self._show_variables(dict(key[1]))
        if self.on_node is not None:
            self.on_node(state.node)

    def _show_variables(self, values: dict[str, str]) -> None:
        """One row per variable; rows are kept and their values changed, so the list does not flicker."""
        if list(values) != list(self.value_labels):
            self.value_labels = {}
            self.variables.clear()
            with self.variables:
                if not values:
                    ui.label(_("None yet.")).classes("text-gray-500")
                for name in values:
                    with ui.row().classes("w-full no-wrap gap-2 border-b py-0.5").mark(f"var-{name}"):
                        ui.label(name).classes("w-28 shrink-0 font-medium text-gray-700 truncate")
                        self.value_labels[name] = ui.label().classes("grow text-gray-600 break-all")
        unset = _(UNSET)
        for name, value in values.items():
            label = self.value_labels[name]
            label.text = value
            label.classes(
                add="italic text-gray-500" if value == unset else "",
                remove="" if value == unset else "italic text-gray-500",
            )

    def _step_words(self, node_id: str | None) -> str:
        """A step as the tester knows it: “Ask for text: What's your name?”, not its id."""
        flow = self.flow
        if flow is None:
            try:
                flow = self.builder.flows.draft(self.flow_id)
            except LookupError:
                return _("a step")
        node = flow.node(node_id) if node_id else None
        if node is None:
            return _("a step")
        spec = self.builder.registry.get(node.type)
        title = _(spec.title) if spec else node.type
        text = card_data(flow, node, self.builder.registry, [], [])["text"]
        return f"“{title}: {text[:50]}”" if text else f"“{title}”"

    def _poll(self) -> None:
        """Messages sent later (waits, timeouts) arrive through the subscription; refresh the state line."""
        if self.runtime is not None and self.cid:
            self._status()

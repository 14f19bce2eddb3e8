"""The node plugin contract: what a node type declares and what its `run` receives and returns.

A node type is one module that ends with `NODE = NodeType(...)` and is registered under the
`chatloom.nodes` entry-point group. `run(ctx, settings)` is called when the conversation reaches
the node, and again when the user answers (``ctx.inbound`` is set) or a timer it asked for fires
(``ctx.woke`` is true). It returns a `Step` saying what to send and where to go next.
"""

from __future__ import annotations

import builtins
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ValidationError

from flows.expressions import check_template, evaluate, render
from flows.problems import describe_validation_error

if TYPE_CHECKING:  # the AI services' contracts live beside their nodes
    from nodes.ai.llm import LanguageModels
    from nodes.ai.memory import MemoryService
    from nodes.ai.speech import SpeechService

MediaKind = Literal["image", "audio", "video", "file"]


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a message; `value` is what the bot receives when it is pressed."""

    title: str
    value: str = ""

    def to_json(self) -> dict[str, str]:
        return {"title": self.title, "value": self.value or self.title}


@dataclass(frozen=True, slots=True)
class Media:
    """An image, audio clip, video or file, by URL (or a reference a channel understands)."""

    kind: MediaKind
    url: str
    name: str = ""
    mime: str = ""
    duration: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "url": self.url}
        if self.name:
            out["name"] = self.name
        if self.mime:
            out["mime"] = self.mime
        if self.duration is not None:
            out["duration"] = self.duration
        return out


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message the bot sends."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    media: Media | None = None
    multiple: bool = False  # buttons may be picked several times (multiple choice)
    feedback: str = ""  # a model call's id: the chat offers thumbs up/down on this answer

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.buttons:
            out["buttons"] = [b.to_json() for b in self.buttons]
        if self.media is not None:
            out["media"] = self.media.to_json()
        if self.multiple:
            out["multiple"] = True
        if self.feedback:
            out["feedback"] = self.feedback
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outbound:
        media = data.get("media")
        return cls(
            text=data.get("text", ""),
            buttons=tuple(Button(b["title"], b.get("value", "")) for b in data.get("buttons", ())),
            media=Media(**media) if media else None,
            multiple=bool(data.get("multiple", False)),
            feedback=str(data.get("feedback", "")),
        )


@dataclass(frozen=True, slots=True)
class Inbound:
    """What the user sent: text, a pressed button's value, or media."""

    text: str = ""
    choice: str | None = None  # the value of a pressed button, when the channel tells us
    media: Media | None = None
    event_id: str | None = None

    @property
    def answer(self) -> str:
        """The button value if a button was pressed, else the typed text."""
        return self.choice if self.choice is not None else self.text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.choice is not None:
            out["choice"] = self.choice
        if self.media is not None:
            out["media"] = self.media.to_json()
        return out


@dataclass(frozen=True, slots=True)
class CallFlow:
    """Run another flow, sharing the named variables both ways, then come back."""

    flow_id: str
    share: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    """What a node's `run` returns.

    - leave by ``port`` (sending ``messages`` first), or
    - ``wait="reply"``: stay on this node until the user answers (``timeout`` seconds at most), or
    - ``wait="timer"``: stay until ``delay`` seconds have passed, or
    - ``goto``: continue at another node of the same flow, or
    - ``call``: run another flow and continue by ``out`` when it ends, or
    - ``end``: the conversation is over.
    """

    port: str | None = None
    messages: tuple[Outbound, ...] = ()
    wait: Literal["reply", "timer"] | None = None
    delay: float | None = None
    timeout: float | None = None
    goto: str | None = None
    call: CallFlow | None = None
    end: bool = False

    @classmethod
    def next(cls, port: str = "out", *messages: Outbound) -> Step:
        """Send the messages, then leave by `port`."""
        if messages:
            return cls(port=port, messages=messages)
        found = _BARE_NEXT.get(port)
        if found is None:  # steps are immutable, so one per port serves every conversation
            found = _BARE_NEXT[port] = cls(port=port)
        return found

    @classmethod
    def ask(cls, *messages: Outbound, timeout: float | None = None) -> Step:
        """Send the messages and wait for the user's reply."""
        return cls(wait="reply", messages=messages, timeout=timeout)

    @classmethod
    def sleep(cls, seconds: float, *messages: Outbound) -> Step:
        """Send the messages and come back to this node after `seconds`."""
        return cls(wait="timer", delay=seconds, messages=messages)

    @classmethod
    def jump(cls, node_id: str, *messages: Outbound) -> Step:
        """Continue at another node of this flow."""
        return cls(goto=node_id, messages=messages)

    @classmethod
    def call_flow(cls, flow_id: str, share: tuple[str, ...] = (), *messages: Outbound) -> Step:
        """Run another flow with shared variables; continue by `out` when it ends."""
        return cls(call=CallFlow(flow_id, share), messages=messages)

    @classmethod
    def finish(cls, *messages: Outbound) -> Step:
        """Send the messages and end the conversation."""
        return cls(end=True, messages=messages)


_BARE_NEXT: dict[str, Step] = {}


class HttpResponse(Protocol):
    status_code: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any: ...


class HttpClient(Protocol):
    """The slice of `httpx.AsyncClient` nodes may use."""

    async def request(self, method: str, url: str, **kwargs: Any) -> HttpResponse: ...


class HttpRefused(Exception):
    """The outbound guard would not make or finish a request (a private or metadata address, a
    redirect to one, an answer too large); the message is one sentence a flow's author can read."""


class MediaError(Exception):
    """A file a user sent could not be read (gone, too big, not reachable); the message says why."""


class MediaFiles(Protocol):
    """Reads the files users send and keeps the files the bot makes (voice replies)."""

    async def read(self, media: Media, *, limit: int = 25_000_000) -> bytes:
        """The bytes of a file a user sent, wherever it lives (a channel's file id, a URL, a data URL)."""
        ...

    async def save(
        self, data: bytes, *, kind: MediaKind, mime: str, name: str = "", duration: float | None = None
    ) -> Media:
        """Keep a file the bot sends; returns it as Media with an address channels can fetch."""
        ...


class Embedder(Protocol):
    """Turns texts into unit-length vectors (similar meaning, high dot product)."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


# The recent conversation as (role, text) pairs, oldest first (role "user" or "assistant"), for
# nodes that give a model context: (conversation id, how many lines) → lines.
Transcript = Callable[[str, int], Awaitable[list[tuple[str, str]]]]


@dataclass
class Services:
    """What the runtime hands to nodes. Tests hand in fakes; deployments hand in real ones.

    The AI services are built on first use (a flow without AI steps never loads a model)."""

    http: HttpClient | None = None  # guarded: private and metadata addresses refused (HttpRefused)
    # the same guard with the private addresses a flow's workspace allows, by flow id (preferred over `http`)
    http_for: Callable[[str], HttpClient] | None = None
    clock: Callable[[], datetime] = datetime.now
    random: random.Random = field(default_factory=random.Random)
    secrets: Mapping[str, str] = field(default_factory=dict)
    # the secrets of a flow's workspace, by flow id (when set, used instead of `secrets`)
    secrets_for: Callable[[str], Mapping[str, str]] | None = None
    models: LanguageModels | None = None
    embedder: Embedder | None = None
    memory: MemoryService | None = None
    speech: SpeechService | None = None
    media: MediaFiles | None = None
    transcript: Transcript | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_NODE_LOG = logging.getLogger("nodes")


class NodeContext:
    """Everything a node may read or change while it runs, for one conversation."""

    __slots__ = (
        "_memory",
        "bot",
        "conversation_id",
        "flow_id",
        "heard",
        "inbound",
        "log",
        "node_id",
        "said",
        "services",
        "test_mode",
        "user",
        "vars",
        "woke",
    )

    def __init__(
        self,
        *,
        conversation_id: str = "",
        flow_id: str = "",
        node_id: str = "",
        vars: dict[str, Any] | None = None,
        inbound: Inbound | None = None,
        woke: bool = False,
        memory: dict[str, Any] | None = None,
        services: Services | None = None,
        test_mode: bool = False,
        log: logging.LoggerAdapter[logging.Logger] | logging.Logger | None = None,
        bot: str = "",
        user: str = "",
        heard: Inbound | None = None,
        said: list[tuple[str, Outbound]] | None = None,
    ) -> None:
        self.conversation_id = conversation_id
        self.flow_id = flow_id
        self.bot = bot or flow_id  # the flow the conversation started on: memories are kept per bot
        self.user = user or f"conversation:{conversation_id}"  # who is talking, the same across conversations
        self.heard = heard  # what the user sent in this turn (any node may read it)
        self.said = [] if said is None else said  # (node id, message) the bot sent so far this turn
        self.node_id = node_id
        self.vars: dict[str, Any] = {} if vars is None else vars  # the conversation's variables
        self.inbound = inbound  # set when the user answered this (waiting) node
        self.woke = woke  # true when a timer this node asked for fired
        self._memory = memory
        self.services = services or Services()
        self.test_mode = test_mode
        self.log = log or _NODE_LOG

    @property
    def memory(self) -> dict[str, Any]:
        """This node's scratch: kept while the conversation waits at the node, cleared when it leaves."""
        if self._memory is None:
            self._memory = {}
        return self._memory

    @memory.setter
    def memory(self, value: dict[str, Any] | None) -> None:
        self._memory = value

    @property
    def first_visit(self) -> bool:
        """True when the conversation has just arrived at this node."""
        return self.inbound is None and not self.woke

    def render(self, template: str) -> str:
        """Fill `{{ variable }}` placeholders from the conversation's variables (sandboxed)."""
        return render(template, self.vars)

    def evaluate(self, expression: str) -> Any:
        """Evaluate an expression against the conversation's variables (sandboxed)."""
        return evaluate(expression, self.vars)


Settings = BaseModel
RunFn = Callable[[NodeContext, Any], Awaitable[Step]]
PortsFn = Callable[[Any], list[str]]
Migration = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class NodeType:
    """A node type: declared once, in the module that implements it."""

    type: str  # dotted, lower case: "input.email"
    version: int
    title: str
    category: str
    settings: builtins.type[BaseModel]
    run: RunFn
    inputs: tuple[str, ...] = ("in",)
    outputs: tuple[str, ...] | PortsFn = ("out",)  # or a function of the settings, for per-branch ports
    description: str = ""
    waits: bool = False  # it may wait for the user (breaks loops that would otherwise spin)
    terminal: bool = False  # ends the conversation (an end node is not a dead end)
    links: Callable[[Any], list[str]] | None = None  # node ids it may jump to (for reachability)
    migrations: Mapping[int, Migration] = field(default_factory=dict)  # from version N to N+1
    summary: Callable[[Any], str] | None = None  # what the step says or does, for its canvas card
    icon: str = ""  # a Material icon name for the card and the palette ("" : the category's)
    # words for output ports that a person reads on the card: {"promoter": "score ≥ 9"}; ports not
    # named get the builder's words for the common ones ("invalid" → "not understood")
    exits: Callable[[Any], Mapping[str, str]] | None = None
    # automatic variables the node reads although its settings do not name them ("language")
    implicit: Callable[[Any], Iterable[str]] | None = None

    def reads(self, settings: Any) -> tuple[str, ...]:
        """The automatic variables these (validated) settings read without naming them."""
        return tuple(self.implicit(settings)) if self.implicit else ()

    def output_ports(self, settings: Any) -> list[str]:
        """The output ports for these (validated) settings."""
        return list(self.outputs(settings)) if callable(self.outputs) else list(self.outputs)

    def _unsettled_ports(self) -> list[str]:
        """The output ports while the settings are not valid yet (a question just dropped on the canvas
        still shows "valid" and "invalid", so it can be joined up before it is filled in)."""
        try:
            return self.output_ports(None)
        except (AttributeError, TypeError):  # a port function that needs real settings
            return []

    def migrate(self, settings: Mapping[str, Any], version: int) -> dict[str, Any]:
        """Bring settings saved by an older version of this node type up to date."""
        if version > self.version:
            raise SettingsError(
                [
                    f"This node was made with version {version} of “{self.title}”, but version "
                    f"{self.version} is installed. Update the plugin."
                ]
            )
        data = dict(settings)
        for v in range(version, self.version):
            step = self.migrations.get(v)
            if step is None:
                raise SettingsError([f"There is no way to update “{self.title}” settings from version {v}."])
            data = step(data)
        return data

    def parse(self, settings: Mapping[str, Any], version: int) -> BaseModel:
        """Validated settings, or SettingsError with one sentence per problem."""
        data = self.migrate(settings, version)
        fields = self.settings.model_fields
        known = set(fields) | {f.alias for f in fields.values() if f.alias}
        unknown = [key for key in data if key not in known]
        if unknown:  # a typo in a hand-written flow must not be silently ignored
            raise SettingsError([f"“{key}” is not a setting of “{self.title}”." for key in unknown])
        try:
            return self.settings.model_validate(data)
        except ValidationError as exc:
            raise SettingsError(describe_validation_error(exc, self.settings)) from exc

    def ports_for(self, settings: Mapping[str, Any], version: int) -> list[str]:
        """The output ports these settings give (as `inspect` finds them, without checking the rest)."""
        try:
            return self.output_ports(self.parse(settings, version))
        except SettingsError:
            return self._unsettled_ports()

    def inspect(self, settings: Mapping[str, Any], version: int) -> Inspection:
        """Ports, links and setting problems, for flow validation."""
        try:
            parsed = self.parse(settings, version)
        except SettingsError as exc:
            return Inspection(outputs=self._unsettled_ports(), links=[], errors=exc.reasons)
        errors = [
            f"“{field}”: {e}" if field else e
            for field, text in _strings(parsed)
            if (e := check_template(text)) is not None
        ]
        check = getattr(parsed, "problems", None)
        if callable(check):
            errors.extend(check())
        return Inspection(
            outputs=self.output_ports(parsed),
            links=list(self.links(parsed)) if self.links else [],
            errors=errors,
        )


def _strings(value: Any, field: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside settings with the title of the field it is in, so broken or unsafe
    `{{ … }}` markup is caught when a flow is checked and the problem names the field."""
    if isinstance(value, str):
        yield field, value
    elif isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            title = info.title or name
            yield from _strings(getattr(value, name), f"{field} › {title}" if field else title)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item, field)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, field)


class SettingsError(ValueError):
    """Settings that do not fit their node type; one sentence per problem."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(" ".join(reasons))


@dataclass(frozen=True, slots=True)
class Inspection:
    """What one node's settings mean for the graph: its output ports, jump targets, problems."""

    outputs: list[str]
    links: list[str]
    errors: list[str]

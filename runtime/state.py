"""Where one conversation stands: the node it waits on, its variables, its sub-flow stack."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["new", "waiting", "sleeping", "ended", "failed"]


@dataclass(slots=True)
class Frame:
    """A caller waiting for a sub-flow to return."""

    flow_id: str
    version: int
    node_id: str  # the flow.call node to continue from
    share: list[str]
    vars: dict[str, Any]


@dataclass(slots=True)
class ConversationState:
    """Everything needed to continue a conversation, saved after every turn."""

    id: str
    flow_id: str  # the flow the conversation started on
    version: int  # and its version; kept for the whole conversation
    channel: str = "api"
    account: str = "default"
    user_id: str = ""
    status: Status = "new"
    seq: int = 0  # bumped on every save; a save that finds another seq lost a race and retries
    at_flow: str = ""  # the flow being walked (differs from flow_id inside a sub-flow)
    at_version: int = 0
    node: str | None = None  # the node waiting for a reply or a timer
    vars: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)  # the waiting node's scratch
    stack: list[Frame] = field(default_factory=list)
    wake_token: str | None = None  # the timer the waiting node asked for
    wake_at: float | None = None  # when it is due (unix seconds)
    events: list[tuple[str, int]] = field(default_factory=list)  # recent (inbound event id, turn) pairs
    seen_turn: int | None = None  # set on load: the turn that already handled the inbound event, if any

    def data(self) -> dict[str, Any]:
        """The JSON-serializable part saved in the `data` column."""
        return {
            "at_flow": self.at_flow,
            "at_version": self.at_version,
            "node": self.node,
            "vars": self.vars,
            "memory": self.memory,
            "stack": [asdict(f) for f in self.stack],
            "wake_token": self.wake_token,
            "wake_at": self.wake_at,
            "events": self.events,
        }

    def load_data(self, data: dict[str, Any]) -> None:
        self.at_flow = data.get("at_flow") or self.flow_id
        self.at_version = data.get("at_version") or self.version
        self.node = data.get("node")
        self.vars = data.get("vars") or {}
        self.memory = data.get("memory") or {}
        self.stack = [Frame(**f) for f in data.get("stack") or ()]
        self.wake_token = data.get("wake_token")
        self.wake_at = data.get("wake_at")
        self.events = [(e, t) for e, t in data.get("events") or ()]

"""What the builder's pages share: the runtime, its flow store and the node registry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.document import DocumentError, parse_flow
from flows.models import Flow
from flows.store import FlowStore
from nodes.registry import Registry
from runtime.access import Access
from runtime.channels.service import Channels
from runtime.engine import Runtime

TEMPLATES = Path(__file__).resolve().parents[1] / "flows" / "templates"
FIRST_TEMPLATE = "start_here"
WIDE = "chatloom-wide"  # the body class of a page that uses the whole window (the editor); others sit centred


@dataclass
class Builder:
    """The builder's services. One per app; pages read from it, never from module globals."""

    runtime: Runtime
    channels: Channels | None = None  # the messenger channels (None: the deployments page says so)
    access: Access = None  # type: ignore[assignment]  # accounts, rules, audit log: the app's, or made here
    clipboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # browser → what it copied last
    editing: dict[str, list[Any]] = field(default_factory=dict)  # flow id → the editor tabs open on it
    # (flow id, step id, field) → (who, when) it was last changed: a later change by someone else says so
    field_edits: dict[tuple[str, str, str], tuple[str, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.access is None:
            self.access = Access(self.runtime.engine)

    @property
    def flows(self) -> FlowStore:
        return self.runtime.flows

    @property
    def registry(self) -> Registry:
        return self.runtime.registry

    def templates(self) -> list[Flow]:
        """The example flows a new flow can start from; “Start here”, which teaches the builder, first."""
        found = []
        for path in sorted(TEMPLATES.glob("*.json"), key=lambda p: (p.stem != FIRST_TEMPLATE, p.name)):
            try:
                found.append(parse_flow(path.read_bytes(), source=path.name))
            except DocumentError:
                continue
        return found

    def free_id(self, name: str) -> str:
        """A flow id made from a name, not yet taken: "Lead capture" → "lead-capture", "lead-capture-2"."""
        base = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:80] or "flow"
        candidate, n = base, 1
        while self.flows.exists(candidate):
            n += 1
            candidate = f"{base}-{n}"
        return candidate

"""The node registry: every node type installed, found through the `chatloom.nodes` entry points.

Built-in node types register through the same entry points as third-party plugins. A plugin
that cannot be loaded is reported with its name, its distribution and the reason, and the
others still load.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from pydantic import BaseModel

from flows.models import PORT_PATTERN
from nodes.api import NodeType

GROUP = "chatloom.nodes"
CORE = "chatloom"
TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
PORT_NAME = re.compile(PORT_PATTERN)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PluginError:
    """A plugin that was rejected, and why."""

    name: str
    distribution: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name} (from {self.distribution}): {self.reason}"


@dataclass(frozen=True, slots=True)
class Installed:
    """A node type and the distribution that supplied it."""

    node: NodeType
    entry_point: str
    distribution: str


class Registry:
    """Node types by name. Implements flows.problems.Catalog."""

    def __init__(self) -> None:
        self._types: dict[str, Installed] = {}
        self.errors: list[PluginError] = []

    @classmethod
    def from_entry_points(cls, group: str = GROUP) -> Registry:
        """Load every installed plugin, keeping the good ones and recording the rejected ones."""
        reg = cls()
        # Chatloom's own node types load first, so a plugin can never take a built-in's name.
        found = sorted(entry_points(group=group), key=lambda e: (_dist_name(e) != CORE, _dist_name(e), e.name))
        for ep in found:
            reg._load_entry_point(ep)
        return reg

    @classmethod
    def of(cls, nodes: Iterable[NodeType], distribution: str = "(direct)") -> Registry:
        """A registry of exactly these node types (tests, embedding)."""
        reg = cls()
        for node in nodes:
            reg.add(node, name=node.type, distribution=distribution)
        return reg

    def _load_entry_point(self, ep: EntryPoint) -> None:
        dist = _dist_name(ep)
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must never stop the others
            self._reject(ep.name, dist, f"could not be imported: {type(exc).__name__}: {exc}")
            return
        self.add(obj, name=ep.name, distribution=dist, entry_point=ep.value)

    def _reject(self, name: str, dist: str, reason: str) -> None:
        err = PluginError(name, dist, reason)
        self.errors.append(err)
        log.warning("node plugin rejected: %s", err)

    def add(self, obj: object, *, name: str, distribution: str, entry_point: str = "") -> bool:
        """Check a candidate node type and add it; return False (and record why) when it is rejected."""
        reason = check_node_type(obj)
        if reason is None and isinstance(obj, NodeType) and obj.type in self._types:
            other = self._types[obj.type]
            reason = f"the type name {obj.type!r} is already taken by {other.distribution} ({other.entry_point})"
        if reason is not None:
            self._reject(name, distribution, reason)
            return False
        assert isinstance(obj, NodeType)
        self._types[obj.type] = Installed(obj, entry_point or name, distribution)
        return True

    def get(self, type_name: str) -> NodeType | None:
        """The node type with this name, or None."""
        found = self._types.get(type_name)
        return found.node if found else None

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._types

    def __iter__(self) -> Iterator[NodeType]:
        return (i.node for i in sorted(self._types.values(), key=lambda i: (i.node.category, i.node.type)))

    def __len__(self) -> int:
        return len(self._types)

    def installed(self) -> list[Installed]:
        """Every node type with where it came from, by category then name."""
        return sorted(self._types.values(), key=lambda i: (i.node.category, i.node.type))


def _dist_name(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "unknown distribution"


def check_node_type(obj: object) -> str | None:
    """Why this object is not a usable node type, or None when it is."""
    if not isinstance(obj, NodeType):
        return f"the entry point gives a {type(obj).__name__}, not a nodes.api.NodeType"
    if not TYPE_NAME.match(obj.type):
        return f"the type name {obj.type!r} must be dotted lower case, like 'input.email'"
    if not isinstance(obj.version, int) or obj.version < 1:
        return "the version must be a whole number of 1 or more"
    if not (isinstance(obj.settings, type) and issubclass(obj.settings, BaseModel)):
        return "settings must be a pydantic model class"
    try:
        obj.settings.model_json_schema()
    except Exception as exc:  # noqa: BLE001 - any schema failure is the plugin's fault
        return f"its settings model does not build a JSON Schema: {exc}"
    if not inspect.iscoroutinefunction(obj.run):
        return "run must be an async function (async def run(ctx, settings))"
    ports = list(obj.inputs) + ([] if callable(obj.outputs) else list(obj.outputs))
    bad = [p for p in ports if not isinstance(p, str) or not PORT_NAME.match(p)]
    if bad:
        return f"port names must be short lower-case words, not {bad!r}"
    missing = [v for v in range(1, obj.version) if v not in obj.migrations]
    if missing and obj.migrations:
        return f"migrations are missing from version(s) {missing}"
    return None

"""The flow document: a JSON graph of nodes joined by edges."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
PORT_PATTERN = r"^[a-z][a-z0-9_\-]*$"  # an output port's name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Variable(_Strict):
    """A variable the flow declares, with its type and starting value."""

    name: str = Field(pattern=VARIABLE_PATTERN, title="Name")
    type: Literal["string", "number", "boolean", "list", "object", "any"] = "any"
    default: Any = None
    description: str = ""


class Node(_Strict):
    """One step of the flow. `settings` are checked against the node type, not here."""

    id: str = Field(pattern=ID_PATTERN)
    type: str = Field(min_length=1, max_length=100)
    version: int = Field(1, ge=1)
    settings: dict[str, Any] = Field(default_factory=dict)
    ui: dict[str, Any] = Field(default_factory=dict, description="Canvas only; the runtime never reads it.")


class Edge(_Strict):
    """A connection from an output port of one node to an input port of another."""

    id: str = Field(pattern=ID_PATTERN)
    source: str
    source_port: str = "out"
    target: str
    target_port: str = "in"


class Note(_Strict):
    """A sticky note on the canvas: words for the people editing the flow; the runtime never reads it."""

    id: str = Field(pattern=ID_PATTERN)
    text: str = Field("", max_length=5000)
    ui: dict[str, Any] = Field(default_factory=dict, description="Canvas position: {x, y}.")


class Flow(_Strict):
    """A whole flow, as stored, exported and imported."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    start: str | None = None
    variables: list[Variable] = Field(default_factory=list)
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list, description="Canvas sticky notes; never run.")

    def node(self, node_id: str) -> Node | None:
        """The node with this id, or None."""
        return next((n for n in self.nodes if n.id == node_id), None)

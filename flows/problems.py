"""Problems found in a flow, each with where it is and a sentence a non-programmer understands."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a flow. Errors stop publishing; warnings are advice."""

    code: str
    message: str
    node_id: str | None = None
    edge_id: str | None = None
    severity: Literal["error", "warning"] = "error"

    def to_json(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "code": self.code,
                "severity": self.severity,
                "message": self.message,
                "node_id": self.node_id,
                "edge_id": self.edge_id,
            }.items()
            if v is not None
        }

    def __str__(self) -> str:
        where = f"node {self.node_id}" if self.node_id else f"edge {self.edge_id}" if self.edge_id else "flow"
        return f"{self.severity}: {where}: {self.message}"


class FlowInvalid(ValueError):
    """A flow that cannot be run or saved, with every problem found."""

    def __init__(self, problems: Sequence[Problem], flow_id: str = "") -> None:
        self.problems = list(problems)
        self.flow_id = flow_id
        errors = [p for p in self.problems if p.severity == "error"]
        head = f"The flow {flow_id!r} has " if flow_id else "The flow has "
        super().__init__(head + f"{len(errors)} problem(s): " + "; ".join(p.message for p in errors[:5]))


class Inspection(Protocol):
    """What the node catalog says about one node's settings."""

    @property
    def outputs(self) -> Sequence[str]: ...
    @property
    def links(self) -> Sequence[str]: ...
    @property
    def errors(self) -> Sequence[str]: ...


class TypeSpec(Protocol):
    """The part of a node type that flow validation needs (nodes.api.NodeType provides it)."""

    @property
    def version(self) -> int: ...
    @property
    def inputs(self) -> Sequence[str]: ...
    @property
    def waits(self) -> bool: ...
    @property
    def terminal(self) -> bool: ...

    def inspect(self, settings: Mapping[str, Any], version: int) -> Inspection: ...


class Catalog(Protocol):
    """Looks up node types by name (nodes.registry.Registry provides it)."""

    def get(self, type_name: str) -> TypeSpec | None: ...


def describe_validation_error(
    exc: ValidationError, model: type[BaseModel] | None = None, unknown: str = "is not a setting of this node type"
) -> list[str]:
    """Turn pydantic's errors into sentences naming the field by its title; `unknown` says what an
    unexpected key is not."""
    out = []
    fields = model.model_fields if model is not None else {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        first = loc[0] if loc else ""
        info = fields.get(first)
        label = (info.title if info is not None and info.title else first.replace("_", " ")) or "value"
        rest = " → ".join(loc[1:])
        where = f"“{label}”" + (f" ({rest})" if rest else "")
        kind = err.get("type", "")
        if kind == "missing":
            out.append(f"{where} must be filled in.")
        elif kind == "extra_forbidden":
            out.append(f"{where} {unknown}.")
        else:
            msg = str(err.get("msg", "is not valid"))
            out.append(f"{where}: {msg[0].lower() + msg[1:] if msg else msg}.")
    return out


def has_errors(problems: Iterable[Problem]) -> bool:
    """Whether any of the problems is an error (not just a warning)."""
    return any(p.severity == "error" for p in problems)

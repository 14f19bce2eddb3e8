"""Problems found in a flow, each with where it is and a sentence a non-programmer understands."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from flows.models import ID_PATTERN, PORT_PATTERN, VARIABLE_PATTERN


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
        elif (words := _in_words(kind, err.get("ctx") or {}, info)) is not None:
            out.append(f"{where} {words}")
        else:
            msg = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
            out.append(f"{where}: {msg[0].lower() + msg[1:] if msg else msg}.")
    return out


# what a pattern allows, in words (pydantic would quote the regular expression)
PATTERN_WORDS: Mapping[str, str] = {
    VARIABLE_PATTERN: "letters, digits and _, starting with a letter or _, with no spaces (at most 64)",
    ID_PATTERN: "letters, digits, _, . and -, starting with a letter or digit, with no spaces (at most 100)",
    PORT_PATTERN: "lower-case letters, digits, _ and -, starting with a letter, with no spaces",
}


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _in_words(kind: str, ctx: Mapping[str, Any], info: FieldInfo | None) -> str | None:
    """Pydantic's error of this kind as the rest of a sentence a person understands, or None."""
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", "")).removeprefix("^$|")
        allowed = PATTERN_WORDS.get(pattern)
        if allowed is not None:
            return f"may only hold {allowed}."
        hint = info.description if info is not None and info.description else ""
        return "is not written the way it must be." + (f" {hint}" if hint else "")
    simple = {
        "string_too_short": "must be filled in."
        if ctx.get("min_length") == 1
        else f"is too short: at least {ctx.get('min_length')} characters.",
        "string_too_long": f"is too long: at most {ctx.get('max_length')} characters.",
        "too_short": f"needs at least {ctx.get('min_length')}.",
        "too_long": f"can hold at most {ctx.get('max_length')}.",
        "greater_than_equal": f"must be {_number(ctx.get('ge'))} or more.",
        "greater_than": f"must be more than {_number(ctx.get('gt'))}.",
        "less_than_equal": f"must be {_number(ctx.get('le'))} or less.",
        "less_than": f"must be less than {_number(ctx.get('lt'))}.",
        "int_parsing": "must be a whole number.",
        "int_from_float": "must be a whole number.",
        "float_parsing": "must be a number.",
        "bool_parsing": "must be on or off.",
        "string_type": "must be text.",
        "literal_error": f"must be one of: {ctx.get('expected')}.",
        "enum": f"must be one of: {ctx.get('expected')}.",
    }
    return simple.get(kind)


def has_errors(problems: Iterable[Problem]) -> bool:
    """Whether any of the problems is an error (not just a warning)."""
    return any(p.severity == "error" for p in problems)

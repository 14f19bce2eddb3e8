"""Secret settings (pydantic `SecretStr` fields of a node type): kept in the flow as written, shown
nowhere, and blanked in every file that leaves the server.

pydantic's JSON dump writes a secret as "**********", which would replace the real value with the
mask on the first save; `settings_data` writes the value itself.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr

from flows.models import Flow, Node

if TYPE_CHECKING:
    from nodes.registry import Registry


def settings_data(parsed: BaseModel) -> dict[str, Any]:
    """Validated settings as stored in a flow: plain JSON, secrets as their values."""
    data: dict[str, Any] = parsed.model_dump(mode="json")
    _reveal(parsed, data)
    return data


def _reveal(model: BaseModel, data: dict[str, Any]) -> None:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            data[name] = value.get_secret_value()
        elif isinstance(value, BaseModel) and isinstance(data.get(name), dict):
            _reveal(value, data[name])
        elif isinstance(value, (list, tuple)) and isinstance(data.get(name), list):
            for item, dumped in zip(value, data[name], strict=False):
                if isinstance(item, BaseModel) and isinstance(dumped, dict):
                    _reveal(item, dumped)


def _kinds(annotation: Any) -> list[Any]:
    """The types an annotation allows, Optional and lists unwrapped."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType, list, tuple):
        return [k for arg in get_args(annotation) for k in _kinds(arg)]
    return [annotation]


def _blank(model: type[BaseModel], data: Any) -> Any:
    """A copy of raw settings with every secret field emptied (read by the schema, so settings that
    do not validate are blanked too)."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in out:
            continue
        kinds = _kinds(info.annotation)
        if SecretStr in kinds:
            out[key] = ""
            continue
        nested = next((k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)), None)
        if nested is not None:
            value = out[key]
            out[key] = [_blank(nested, v) for v in value] if isinstance(value, list) else _blank(nested, value)
    return out


def has_secrets(model: type[BaseModel]) -> bool:
    """Whether settings of this model can hold a secret."""
    for info in model.model_fields.values():
        for kind in _kinds(info.annotation):
            if kind is SecretStr or (isinstance(kind, type) and issubclass(kind, BaseModel) and has_secrets(kind)):
                return True
    return False


def without_secrets(flow: Flow, registry: Registry) -> Flow:
    """The flow with every secret setting emptied, for a file that leaves the server (an export).

    Whoever imports it fills the secrets in again; nodes of types not installed here are kept as
    they are (their settings cannot be read).
    """

    def blanked(node: Node) -> Node:
        spec = registry.get(node.type)
        if spec is None or not has_secrets(spec.settings):
            return node
        return node.model_copy(update={"settings": _blank(spec.settings, node.settings)})

    return flow.model_copy(update={"nodes": [blanked(n) for n in flow.nodes]})

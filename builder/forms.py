"""A node's settings form, generated from its settings model: no builder code per node type.

Field titles and descriptions are the labels and the help. Every change is validated by the same
model the runtime uses; an invalid value is shown beside its field, in words, and never saved.
Text fields that take templates get a menu of the flow's variables that inserts `{{ name }}`.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen
from nicegui import events, ui
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from flows.problems import describe_validation_error
from nodes.api import NodeType
from nodes.secrets import settings_data

LONG_TEXT = 200  # longer limits get a multi-line box
# the caret of a text field when it loses focus, counted in characters (code points, as Python counts), not UTF-16
CARET_JS = """(e) => {
  const box = e && e.target;
  if (!box || typeof box.selectionStart !== "number") return;
  const count = (end) => Array.from(box.value.slice(0, end)).length;
  emit({start: count(box.selectionStart), end: count(box.selectionEnd)});
}"""
Saved = Callable[[dict[str, Any]], None]
ItemsChanged = Callable[[list[dict[str, Any]]], None]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The annotation without `| None`, and whether None was allowed."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


_LIMIT_ATTRIBUTE = {Ge: "ge", Gt: "gt", Le: "le", Lt: "lt", MaxLen: "max_length"}


def _limit(info: FieldInfo, kind: type) -> float | None:
    """A bound declared on the field (ge, le, max_length…), or None."""
    for meta in info.metadata:
        if isinstance(meta, kind):
            return float(getattr(meta, _LIMIT_ATTRIBUTE[kind]))
    return None


def _takes_templates(info: FieldInfo) -> bool:
    """Whether a text field may hold `{{ name }}`: not when a pattern restricts it (a variable name, an id…)."""
    return not any(getattr(meta, "pattern", None) for meta in info.metadata)


def _model_list(kind: Any) -> type[BaseModel] | None:
    """The record type of a `list[SomeModel]` field, or None."""
    if get_origin(kind) is list:
        inner = get_args(kind)[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return None


class VariableMenu(ui.button):
    """A small button beside a text field whose menu inserts `{{ name }}` at the caret, or at the end.

    The field's value is set as if typed, so the insertion goes through the field's own change
    handler: the same validation, and nothing invalid is saved.
    """

    def __init__(self, field: ui.input, variables: Sequence[str]) -> None:
        super().__init__(icon="data_object")
        self.field = field
        self.caret: tuple[int, int] | None = None  # the selection when the field last lost focus
        self.props("flat dense round size=sm").tooltip("Insert a variable")
        field.on("blur", self._remember, js_handler=CARET_JS)
        with self, ui.menu():
            for name in variables:
                ui.menu_item(name, on_click=lambda _, n=name: self.insert(n)).mark(f"variable-{name}")

    def _remember(self, e: events.GenericEventArguments) -> None:
        args = e.args if isinstance(e.args, dict) else {}
        start, end = args.get("start"), args.get("end")
        if isinstance(start, int) and isinstance(end, int):
            self.caret = (start, end)

    def insert(self, name: str) -> None:
        """Put `{{ name }}` where the caret was (replacing a selection), or after the text."""
        text = str(self.field.value or "")
        token = "{{ " + name + " }}"
        start, end = self.caret if self.caret is not None else (len(text), len(text))
        start = max(0, min(start, len(text)))
        end = max(start, min(end, len(text)))
        self.caret = (start + len(token), start + len(token))  # a second insertion follows the first
        self.field.value = text[:start] + token + text[end:]


class SettingsForm:
    """The form for one node; `on_saved` receives settings that passed validation.

    `variables` are the names the text fields' "insert variable" menus offer (no menu when empty).
    """

    def __init__(
        self,
        node_type: NodeType,
        values: dict[str, Any],
        on_saved: Saved,
        *,
        variables: Sequence[str] = (),
    ) -> None:
        self.node_type, self.on_saved = node_type, on_saved
        self.values = dict(values)
        self.variables = list(dict.fromkeys(variables))
        self.widgets: dict[str, ui.element] = {}
        with ui.column().classes("w-full gap-2") as self.root:
            ui.label(node_type.title).classes("text-lg font-medium")
            if node_type.description:
                ui.label(node_type.description).classes("text-sm text-gray-600")
            for name, info in node_type.settings.model_fields.items():
                self._field(name, info)
            self.problems = ui.label().classes("text-negative text-sm").mark("problems")

    def _field(self, name: str, info: FieldInfo) -> None:
        label = info.title or name.replace("_", " ").capitalize()
        help_text = info.description or ""
        value = self.values.get(name, None if info.is_required() else info.get_default(call_default_factory=True))
        kind, optional = _unwrap(info.annotation)
        origin = get_origin(kind)

        def changed(new: Any, key: str = name) -> None:
            self.values[key] = new
            self.check()

        widget: ui.element
        if kind is bool:
            widget = ui.switch(label, value=bool(value), on_change=lambda e: changed(e.value))
        elif origin is Literal:
            options = list(get_args(kind))
            widget = ui.select(
                options, label=label, value=value, clearable=optional, on_change=lambda e: changed(e.value)
            )
        elif kind in (int, float):
            widget = ui.number(
                label,
                value=value,
                min=_limit(info, Ge),
                max=_limit(info, Le),
                precision=0 if kind is int else None,
                on_change=lambda e, k=kind: changed(None if e.value is None else k(e.value)),
            )
        elif kind is date:
            widget = ui.input(
                label, value=value.isoformat() if value else "", on_change=lambda e: changed(e.value or None)
            ).props("type=date")
        elif kind is SecretStr:
            # a secret is written, never shown again: the field starts empty and keeps the old one if left so
            widget = ui.input(
                label,
                password=True,
                placeholder="•••••• (unchanged)",
                on_change=lambda e: changed(e.value) if e.value else None,
            )
        elif kind is str:
            limit = _limit(info, MaxLen)
            make = ui.textarea if limit is None or limit > LONG_TEXT else ui.input
            if self.variables and _takes_templates(info):
                with ui.row().classes("w-full items-start gap-1 no-wrap"):
                    widget = make(label, value=value or "", on_change=lambda e: changed(e.value)).classes("grow")
                    VariableMenu(widget, self.variables).mark(f"variables-{name}")
            else:
                widget = make(label, value=value or "", on_change=lambda e: changed(e.value))
        elif (record := _model_list(kind)) is not None:
            widget = ListEditor(label, record, value or [], changed, variables=self.variables)
        elif origin is list:
            inner = get_args(kind)[0]
            options = list(get_args(inner)) if get_origin(inner) is Literal else (value or [])
            widget = ui.select(
                options,
                label=label,
                value=list(value or []),
                multiple=True,
                new_value_mode=None if get_origin(inner) is Literal else "add-unique",
                on_change=lambda e: changed(list(e.value or [])),
            )
        else:
            widget = ui.label(f"{label}: edited in the flow file")
        widget.mark(f"field-{name}")
        if isinstance(widget, (ui.input, ui.number, ui.select)):  # ui.textarea is a ui.input
            widget.classes("w-full")
            if help_text:  # shown under the field, not only on hover (a Quasar hint overflows when long)
                ui.label(help_text).classes("text-xs text-gray-500 -mt-2")
        elif help_text and not isinstance(widget, ListEditor):
            widget.tooltip(help_text)
        self.widgets[name] = widget

    def check(self) -> bool:
        """Validate the values as the runtime would; save them only when they pass."""
        for widget in self.widgets.values():
            widget.props(remove="error error-message")
        model = self.node_type.settings
        try:
            parsed = model.model_validate(self.values)
        except ValidationError as exc:
            reasons = describe_validation_error(exc, model)
            for error, reason in zip(exc.errors(), reasons, strict=False):
                field = self.widgets.get(str(error["loc"][0])) if error["loc"] else None
                if field is not None:
                    field.props(f'error error-message="{reason}"')
            self.problems.text = " ".join(reasons)
            return False
        check = getattr(parsed, "problems", None)
        problems = check() if callable(check) else []
        self.problems.text = " ".join(problems)
        if problems:
            return False
        self.on_saved(settings_data(parsed))  # a secret as itself: pydantic's dump would save the mask
        return True


class ListEditor(ui.column):
    """A list of small settings records (buttons, branches, headers): add, remove, reorder."""

    def __init__(
        self,
        label: str,
        model: type[BaseModel],
        items: list[Any],
        on_change: ItemsChanged,
        *,
        variables: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.model, self.on_change = model, on_change
        self.variables = list(variables)
        self.items = [dict(i) if isinstance(i, dict) else i.model_dump() for i in items]
        self.classes("w-full gap-1 border rounded p-2")
        with self:
            ui.label(label).classes("text-sm font-medium")
            self.rows = ui.column().classes("w-full gap-1")
            ui.button("Add", icon="add", on_click=self._add).props("flat dense").mark("add")
        self._render()

    def _render(self) -> None:
        self.rows.clear()
        with self.rows:
            for index, item in enumerate(self.items):
                with ui.row().classes("w-full items-center gap-1 no-wrap").mark(f"item-{index}"):
                    for name, info in self.model.model_fields.items():
                        kind, _ = _unwrap(info.annotation)
                        label = info.title or name
                        if (record := _model_list(kind)) is not None:  # e.g. a branch's rules
                            ListEditor(
                                label,
                                record,
                                item.get(name) or [],
                                self._setter(index, name),
                                variables=self.variables,
                            ).mark(name)
                        elif kind is bool:
                            ui.switch(
                                label,
                                value=bool(item.get(name, info.default)),
                                on_change=lambda e, i=index, n=name: self._set(i, n, e.value),
                            ).mark(name)
                        elif get_origin(kind) is Literal:
                            ui.select(
                                list(get_args(kind)),
                                label=label,
                                value=item.get(name, info.default),
                                on_change=lambda e, i=index, n=name: self._set(i, n, e.value),
                            ).mark(name)
                        else:
                            box = ui.input(
                                label,
                                value=str(item.get(name, "") or ""),
                                on_change=lambda e, i=index, n=name: self._set(i, n, e.value),
                            ).mark(name)
                            if kind is str and self.variables and _takes_templates(info):
                                VariableMenu(box, self.variables).mark(f"variables-{name}")
                    ui.button(icon="arrow_upward", on_click=lambda _, i=index: self._move(i, -1)).props(
                        "flat dense"
                    ).mark("up")
                    ui.button(icon="close", on_click=lambda _, i=index: self._remove(i)).props("flat dense").mark(
                        "remove"
                    )

    def _setter(self, index: int, name: str) -> ItemsChanged:
        return lambda items: self._set(index, name, items)

    def _set(self, index: int, name: str, value: Any) -> None:
        self.items[index][name] = value
        self.on_change(self.items)

    def _add(self) -> None:
        self.items.append({})
        self._render()
        self.on_change(self.items)

    def _remove(self, index: int) -> None:
        del self.items[index]
        self._render()
        self.on_change(self.items)

    def _move(self, index: int, by: int) -> None:
        target = index + by
        if 0 <= target < len(self.items):
            self.items[index], self.items[target] = self.items[target], self.items[index]
            self._render()
            self.on_change(self.items)

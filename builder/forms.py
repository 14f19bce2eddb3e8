"""A node's settings form, generated from its settings model: no builder code per node type.

Field titles and descriptions are the labels and the help. Every change is validated by the same
model the runtime uses; an invalid value is shown beside its field, in words, and never saved.
Text fields that take templates get a menu of the flow's variables that inserts `{{ name }}`.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen
from nicegui import events, ui
from nicegui.elements.mixins.validation_element import ValidationElement
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from builder.cards import look
from builder.chat_preview import ChatPreview
from builder.i18n import _
from builder.number_field import Bounds, NumberField
from flows.models import VARIABLE_PATTERN
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


def _names_a_variable(info: FieldInfo) -> bool:
    """Whether a text field holds a variable's name (“Save answer in variable”)."""
    return any(str(getattr(m, "pattern", "")).removeprefix("^$|") == VARIABLE_PATTERN for m in info.metadata)


def _shown_in_chat(info: FieldInfo) -> bool:
    """Whether a text is what the bot says (its model marks it `json_schema_extra={"shown_in_chat": True}`)."""
    return isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("shown_in_chat") is True


def _takes_templates(info: FieldInfo) -> bool:
    """Whether a text field may hold `{{ name }}`: not when a pattern restricts it (a variable name, an id…)."""
    return not any(getattr(meta, "pattern", None) for meta in info.metadata)


def choices(kind: Any, info: FieldInfo) -> dict[Any, str]:
    """A fixed set of values (a Literal) as a person reads them: the field's own words when its model
    gives them (`json_schema_extra={"labels": {...}}`), else the value with spaces for underscores."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    words = extra.get("labels")
    named = words if isinstance(words, dict) else {}
    return {v: _(str(named.get(v) or str(v).replace("_", " "))) for v in get_args(kind)}


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
        self.props("flat dense round size=sm").tooltip(_("Insert a variable"))
        self.props["aria-label"] = _("Insert a variable")
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


class VariablePicker(ui.button):
    """A small button beside a variable-name field: its menu lists the flow's variables and puts the
    chosen name in the field (as if typed, so it is validated like typing). A new name is typed."""

    def __init__(self, field: ui.input, variables: Sequence[str]) -> None:
        super().__init__(icon="expand_more")
        self.props("flat dense round size=sm").tooltip(_("Choose one of the flow's variables"))
        self.props["aria-label"] = _("Choose one of the flow's variables")
        with self, ui.menu():
            for name in variables:
                ui.menu_item(name, on_click=lambda _, n=name: field.set_value(n)).mark(f"variable-{name}")


class SettingsForm:
    """The form for one node; `on_saved` receives settings that passed validation.

    `variables` are the names the text fields' "insert variable" menus offer (no menu when empty).
    `on_problems` hears what keeps the form from being saved (an empty list once it saves again),
    so the editor can list it with the flow's problems.
    """

    def __init__(
        self,
        node_type: NodeType,
        values: dict[str, Any],
        on_saved: Saved,
        *,
        variables: Sequence[str] = (),
        on_problems: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.node_type, self.on_saved, self.on_problems = node_type, on_saved, on_problems
        self.values = dict(values)
        self.variables = list(dict.fromkeys(variables))
        self.widgets: dict[str, ui.element] = {}
        with ui.column().classes("w-full gap-3") as self.root:
            with ui.row().classes("items-center gap-2 no-wrap"):
                color, icon = look(node_type)
                ui.icon(icon).classes("rounded-md p-1 text-white text-lg").style(f"background:{color}")
                ui.label(_(node_type.title)).classes("text-lg font-medium")
            if node_type.description:
                ui.label(_(node_type.description)).classes("text-sm text-gray-600 -mt-2")
            # what keeps the form from being saved: at the top, where it is seen (each field also says its own)
            self.problems = ui.label().classes("text-negative text-sm rounded bg-red-50 px-2 py-1").mark("problems")
            self.problems.set_visibility(False)
            for name, info in node_type.settings.model_fields.items():
                self._field(name, info)

    def _field(self, name: str, info: FieldInfo) -> None:
        label = _(info.title) if info.title else name.replace("_", " ").capitalize()
        help_text = _(info.description) if info.description else ""
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
            widget = ui.select(
                choices(kind, info), label=label, value=value, clearable=optional, on_change=lambda e: changed(e.value)
            )
        elif kind in (int, float):
            widget = NumberField(label, value=value, whole=kind is int, bounds=Bounds.of(info), on_change=changed)
            widget.down.mark(f"less-{name}")
            widget.up.mark(f"more-{name}")
        elif kind is date:
            widget = ui.input(
                label, value=value.isoformat() if value else "", on_change=lambda e: changed(e.value or None)
            ).props("type=date")
        elif kind is SecretStr:
            # a secret is written, never shown again: the field starts empty and keeps the old one if left so
            widget = ui.input(
                label,
                password=True,
                placeholder=_("•••••• (unchanged)"),
                on_change=lambda e: changed(e.value) if e.value else None,
            )
        elif kind is str:
            widget = self._text_field(name, info, label, str(value or ""), changed)
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
            widget = ui.label(_("{field}: edited in the flow file", field=label))
        widget.mark(f"field-{name}")
        if isinstance(widget, ValidationElement):
            widget.without_auto_validation()  # the form validates, and NiceGUI would clear what it says
        if isinstance(widget, (ui.input, ui.number, ui.select)):  # ui.textarea is a ui.input
            widget.classes("w-full")
            if help_text:  # shown under the field, not only on hover (a Quasar hint overflows when long)
                ui.label(help_text).classes("text-xs text-gray-500 -mt-2")
        elif help_text and not isinstance(widget, ListEditor):
            widget.tooltip(help_text)
        if isinstance(widget, ui.input) and _shown_in_chat(info):  # how the person will read it, as it is typed
            preview = ChatPreview(str(value or "")).mark(f"preview-{name}")
            widget.on_value_change(lambda e: preview.show(str(e.value or "")))
        self.widgets[name] = widget

    def _text_field(
        self, name: str, info: FieldInfo, label: str, value: str, changed: Callable[[Any], None]
    ) -> ui.input:
        """One line for names and short texts, a box for long ones; a variable name gets the flow's
        variables to choose from, a text that takes templates a menu that inserts `{{ name }}`."""
        if _names_a_variable(info):
            with ui.row().classes("w-full items-start gap-1 no-wrap"):
                field = ui.input(
                    label, value=value, autocomplete=self.variables, on_change=lambda e: changed(e.value or "")
                )
                if self.variables:
                    VariablePicker(field, self.variables).mark(f"pick-{name}")
            return field.classes("grow")
        limit = _limit(info, MaxLen)
        one_line = not _takes_templates(info) or (limit is not None and limit <= LONG_TEXT)
        make = ui.input if one_line else ui.textarea
        if not (self.variables and _takes_templates(info)):
            return make(label, value=value, on_change=lambda e: changed(e.value or ""))
        with ui.row().classes("w-full items-start gap-1 no-wrap"):
            field = make(label, value=value, on_change=lambda e: changed(e.value or "")).classes("grow")
            VariableMenu(field, self.variables).mark(f"variables-{name}")
        return field

    def check(self) -> bool:
        """Validate the values as the runtime would; save them only when they pass."""
        for widget in self.widgets.values():
            if isinstance(widget, ValidationElement):
                widget.error = None
        model = self.node_type.settings
        try:
            parsed = model.model_validate(self.values)
        except ValidationError as exc:
            reasons = describe_validation_error(exc, model)
            fields = [str(error["loc"][0]) if error["loc"] else "" for error in exc.errors()]
            return self._refused(list(zip(fields, reasons, strict=False)))
        check = getattr(parsed, "problems", None)
        problems = check() if callable(check) else []
        if problems:
            return self._refused([(self._field_named_in(p), p) for p in problems])
        self._show([])
        self.on_saved(settings_data(parsed))  # a secret as itself: pydantic's dump would save the mask
        return True

    def _field_named_in(self, problem: str) -> str:
        """The field a problem sentence names by its title (“Message” is empty…), or ""."""
        for name, info in self.node_type.settings.model_fields.items():
            if info.title and problem.startswith(f"“{info.title}”"):
                return name
        return ""

    def _refused(self, found: list[tuple[str, str]]) -> bool:
        for name, reason in found:
            widget = self.widgets.get(name)
            if isinstance(widget, ValidationElement) and widget.error is None:
                widget.error = reason  # beside the field, in its words (the first of its problems)
        self._show([reason for _field, reason in found])
        return False

    def _show(self, reasons: list[str]) -> None:
        self.problems.text = _("Not saved yet: {reasons}", reasons=" ".join(reasons)) if reasons else ""
        self.problems.set_visibility(bool(reasons))
        if self.on_problems is not None:
            self.on_problems(reasons)


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
        self.label = label
        self.classes("w-full gap-2")
        with self:
            ui.label(label).classes("text-sm font-medium")
            self.rows = ui.column().classes("w-full gap-2")
            ui.button(_("Add to “{list}”", list=label), icon="add", on_click=self._add).props("flat dense").mark("add")
        self._render()

    def _render(self) -> None:
        self.rows.clear()
        with self.rows:
            for index, item in enumerate(self.items):
                # one card per item, its fields one under the other: a side panel is narrow
                with ui.column().classes("w-full gap-1 rounded-lg border bg-gray-50 p-2").mark(f"item-{index}"):
                    with ui.row().classes("w-full items-center no-wrap gap-0"):
                        ui.label(f"{self.label} · {index + 1}").classes("text-xs text-gray-500 grow")
                        up = ui.button(icon="arrow_upward", on_click=lambda _, i=index: self._move(i, -1))
                        up.props("flat dense round size=sm").mark("up")
                        up.props["aria-label"] = _("Move up")
                        gone = ui.button(icon="close", on_click=lambda _, i=index: self._remove(i))
                        gone.props("flat dense round size=sm").mark("remove")
                        gone.props["aria-label"] = _("Remove")
                    for name, info in self.model.model_fields.items():
                        kind = _unwrap(info.annotation)[0]
                        label = _(info.title) if info.title else name
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
                                choices(kind, info),
                                label=label,
                                value=item.get(name, info.default),
                                on_change=lambda e, i=index, n=name: self._set(i, n, e.value),
                            ).classes("w-full").mark(name)
                        elif kind in (int, float):
                            number = NumberField(
                                label,
                                value=item.get(name, None if info.is_required() else info.default),
                                whole=kind is int,
                                bounds=Bounds.of(info),
                                on_change=functools.partial(self._set, index, name),
                            )
                            number.classes("w-full").props("dense").mark(name)
                            number.down.mark(f"less-{name}")
                            number.up.mark(f"more-{name}")
                        else:
                            with ui.row().classes("w-full items-start gap-1 no-wrap"):
                                box = (
                                    ui.input(
                                        label,
                                        value=str(item.get(name, "") or ""),
                                        on_change=lambda e, i=index, n=name: self._set(i, n, e.value),
                                    )
                                    .classes("grow")
                                    .props("dense")
                                    .mark(name)
                                )
                                if kind is str and self.variables and _takes_templates(info):
                                    VariableMenu(box, self.variables).mark(f"variables-{name}")

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

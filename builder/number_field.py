"""A number setting: a field with − and + buttons that step within the bounds its model declares.

A value typed outside the bounds, or a fraction where a whole number is asked, is kept as typed
(NiceGUI's number would round or clamp it on leaving the field, unseen): the form refuses it in
words beside the field, and nothing invalid is saved.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from nicegui import ui
from pydantic.fields import FieldInfo

from builder.i18n import _

# the browser's own tiny arrows would be a second, smaller pair of steppers
NO_SPINNER = (
    "[&_input]:[appearance:textfield] [&_input::-webkit-inner-spin-button]:appearance-none "
    "[&_input::-webkit-outer-spin-button]:appearance-none"
)


@dataclass(frozen=True)
class Bounds:
    """The limits a settings field declares (ge, gt, le, lt), each None when not declared."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    @classmethod
    def of(cls, info: FieldInfo) -> Bounds:
        found: dict[str, float] = {}
        for meta in info.metadata:
            for kind, name in ((Ge, "ge"), (Gt, "gt"), (Le, "le"), (Lt, "lt")):
                if isinstance(meta, kind):
                    found[name] = float(getattr(meta, name))
        return cls(**found)

    def lowest(self, whole: bool) -> float | None:
        """The smallest value allowed, where there is one (a whole number just above `gt`)."""
        if self.ge is not None:
            return math.ceil(self.ge) if whole else self.ge
        if self.gt is not None and whole:
            return math.floor(self.gt) + 1
        return None

    def highest(self, whole: bool) -> float | None:
        """The largest value allowed, where there is one (a whole number just below `lt`)."""
        if self.le is not None:
            return math.floor(self.le) if whole else self.le
        if self.lt is not None and whole:
            return math.ceil(self.lt) - 1
        return None

    def allows(self, value: float) -> bool:
        return not (
            (self.ge is not None and value < self.ge)
            or (self.gt is not None and value <= self.gt)
            or (self.le is not None and value > self.le)
            or (self.lt is not None and value >= self.lt)
        )


def step_for(whole: bool, bounds: Bounds) -> float:
    """Whole numbers step by 1; a fraction between 0 and 1 by 0.05, a small range by 0.1, others by 1."""
    if whole:
        return 1
    low = bounds.ge if bounds.ge is not None else bounds.gt
    high = bounds.le if bounds.le is not None else bounds.lt
    if low is None or high is None:
        return 1
    return 0.05 if high - low <= 1 else 0.1 if high - low <= 10 else 1


def as_model_value(value: float | None, whole: bool) -> Any:
    """What the form validates: a whole number as an int; a fraction as typed, for the model to refuse."""
    if value is None:
        return None
    if whole and float(value).is_integer():
        return int(value)
    return value


class NumberField(ui.number):
    """A number setting with − and + buttons; `on_change` receives the value as the model reads it
    (an int for a whole number), or None when the field is emptied."""

    def __init__(
        self,
        label: str,
        *,
        value: float | None,
        whole: bool,
        bounds: Bounds,
        on_change: Callable[[Any], None],
    ) -> None:
        self.whole, self.bounds = whole, bounds
        self.step = step_for(whole, bounds)
        self.lowest, self.highest = bounds.lowest(whole), bounds.highest(whole)
        super().__init__(
            label,
            value=value,
            min=self.lowest,
            max=self.highest,
            step=self.step,
            on_change=lambda e: on_change(as_model_value(e.value, whole)),
        )
        self.classes(NO_SPINNER)
        with self.add_slot("append"):
            self.down = ui.button(icon="remove", on_click=lambda: self.step_by(-1))
            self.up = ui.button(icon="add", on_click=lambda: self.step_by(1))
        for button, words in (
            (self.down, _("Decrease “{label}”", label=label)),
            (self.up, _("Increase “{label}”", label=label)),
        ):
            button.props("flat dense round size=sm").tooltip(words)
            button.props["aria-label"] = words

    def sanitize(self) -> None:
        """Kept as typed when the field loses focus: the form says in words what is wrong with it."""

    def step_by(self, direction: int) -> None:
        """One step down (-1) or up (+1), never past the bounds; an empty field starts at the lowest
        value allowed (or 0)."""
        if self.value is None:
            start = self.lowest if self.lowest is not None else 0.0
            new = start if self.bounds.allows(start) else start + self.step
        else:
            now = float(self.value)
            if self.whole:  # a fraction typed where a whole number is asked: to the next whole number
                new = float(math.floor(now) + 1 if direction > 0 else math.ceil(now) - 1)
            else:
                new = round(now + direction * self.step, 6)  # 0.1 + 0.2 is 0.3, not 0.30000000000000004
            if self.lowest is not None:
                new = max(new, self.lowest)
            if self.highest is not None:
                new = min(new, self.highest)
            if not self.bounds.allows(new):  # e.g. down to 0 where only more than 0 is allowed
                return
        self.value = int(new) if self.whole else new

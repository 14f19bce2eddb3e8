"""variable.set: compute values (`score + 1`, `name | upper`) and keep them in variables."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from flows.expressions import MAX_RESULT_LEN, ExpressionError, check_expression, evaluate
from flows.models import VARIABLE_PATTERN
from nodes.api import NodeContext, NodeType, Step


class Assignment(BaseModel):
    """One variable and how to compute its new value."""

    variable: str = Field(
        pattern=VARIABLE_PATTERN,
        title="Variable",
        description="The variable that receives the value (letters, digits and _).",
    )
    expression: str = Field(
        min_length=1,
        max_length=2000,
        title="New value",
        description="A calculation, written without {{ }}: score + 1, name | upper, items | length, "
        "'hello ' ~ name. Text goes in quotes.",
    )


class SetVariableSettings(BaseModel):
    """Settings of a step that sets variables; each line sees the lines above it."""

    assignments: list[Assignment] = Field(
        min_length=1,
        max_length=50,
        title="Set",
        description="Worked out from top to bottom: a line may use a variable set on a line above.",
    )

    def problems(self) -> list[str]:
        out = []
        for n, a in enumerate(self.assignments, 1):
            if "{{" in a.expression:
                out.append(f"Line {n} (“{a.variable}”): write the value without {{{{ }}}}, for example score + 1.")
            elif (reason := check_expression(a.expression)) is not None:
                out.append(f"Line {n} (“{a.variable}”): {reason}")
        return out


def storable(value: Any, source: str) -> Any:
    """The value as plain JSON data, because conversation state is saved as JSON."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return str(value)  # a plain str, not a template engine subclass such as Markup
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExpressionError(
                f"The expression {source!r} gives {value}, which is not a number a variable can keep."
            )
        return value
    if isinstance(value, Mapping):
        return {str(k): storable(v, source) for k, v in value.items()}
    if isinstance(value, Iterable):
        # Filters such as map() and select() give lazy sequences: keep their items, within bounds.
        items: list[Any] = []
        for item in value:
            if len(items) >= MAX_RESULT_LEN:
                raise ExpressionError(f"The expression {source!r} gives too many items.")
            items.append(storable(item, source))
        return items
    raise ExpressionError(
        f"The expression {source!r} gives a {type(value).__name__}, which a variable cannot keep; "
        "use a number, text, a list or a dictionary."
    )


async def run(ctx: NodeContext, settings: SetVariableSettings) -> Step:
    # Work on a copy so that a failing line changes nothing: the "error" way sees the old values.
    scope = dict(ctx.vars)
    changed: dict[str, Any] = {}
    for a in settings.assignments:
        value = storable(evaluate(a.expression, scope), a.expression)
        scope[a.variable] = changed[a.variable] = value
    ctx.vars.update(changed)
    return Step.next("out")


NODE = NodeType(
    type="variable.set",
    version=1,
    title="Set variable",
    category="Logic",
    icon="edit_note",
    description="Computes values and keeps them in variables.",
    settings=SetVariableSettings,
    run=run,
    outputs=("out", "error"),
    summary=lambda s: "; ".join(f"Sets {a.variable} to {a.expression}" for a in s.assignments),
)

"""Random expressions over the flow language's grammar (and just past it): whatever is generated,
the answer is plain data or the documented ExpressionError, and no name beginning with `_` is
ever read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import expression_functions, sandbox, values
from flows.expressions import ExpressionError, check_expression, evaluate, render

VARIABLES: dict[str, Any] = {
    "x": "Hello",
    "n": 7,
    "f": 2.5,
    "items": ["a", "b", "c"],
    "nums": [3, 1, 2],
    "user": {"first_name": "Ann", "tags": ["x"], "_private": "hidden"},
    "flag": True,
    "nothing": None,
}
NAMES = [*VARIABLES, "missing", "loop", "self", "lipsum", "range", "len", "_x", "__builtins__"]
FIELDS = ["first_name", "tags", "real", "upper", "pop", "items", "format", "__class__", "_private", "__globals__"]
FILTERS = ["upper", "lower", "length", "first", "last", "join", "list", "sort", "unique", "reverse", "tojson",
           "string", "int", "float", "abs", "round", "trim", "title", "sum", "default", "attr", "format",
           "center", "pprint", "map", "items", "dictsort", "replace", "truncate"]  # fmt: skip
FUNCTIONS = ["len", "min", "max", "abs", "int", "float", "str", "bool", "lower", "upper", "range", "round",
             "matches", "lipsum", "dict", "getattr", "cycler"]  # fmt: skip
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">=", "and", "or", "in"]

constants = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["0", "1", "2", "10", "100", "4096", "1.5", "-3.25"]),
    st.text(alphabet="ab_ {}%.'", max_size=6).map(lambda s: "'" + s.replace("'", "") + "'"),
    st.sampled_from(["true", "false", "none", "[]", "{}", "[1, 2]", "{'a': 1}", "'_'", "'__class__'"]),
)
atoms = st.one_of(constants, st.sampled_from(NAMES))


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(FIELDS)).map(lambda t: f"({t[0]}).{t[1]}"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]})[{t[1]}]"),
        st.tuples(inner, st.sampled_from(FIELDS)).map(lambda t: f"({t[0]})['{t[1]}']"),
        st.tuples(inner, st.sampled_from(FILTERS)).map(lambda t: f"({t[0]}) | {t[1]}"),
        st.tuples(inner, st.sampled_from(FILTERS), inner).map(lambda t: f"({t[0]}) | {t[1]}({t[2]})"),
        st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(FUNCTIONS), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(inner, st.sampled_from(OPERATORS), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]}) if ({t[1]}) else ({t[2]})"),
        st.tuples(inner, st.sampled_from(["upper", "format", "pop", "__init__"])).map(lambda t: f"({t[0]}).{t[1]}()"),
        inner.map(lambda e: f"not ({e})"),
        inner.map(lambda e: f"[{e}, {e}]"),
    )


expressions = st.recursive(atoms, _extend, max_leaves=8)


def _plain(value: Any, depth: int = 0) -> bool:
    if depth > 70:
        return False
    if isinstance(value, (str, bool, type(None))):
        return True
    if isinstance(value, int):
        return value.bit_length() <= values.MAX_INT_BITS
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return False


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every key the sandbox actually read a value for."""
    seen: list[Any] = []
    real = sandbox.lookup

    def watched(env: Any, obj: Any, key: Any) -> Any:
        value = real(env, obj, key)
        if not isinstance(value, values.Undefined):
            seen.append(key)
        return value

    monkeypatch.setattr(sandbox, "lookup", watched)  # fields and items in the template
    monkeypatch.setattr(expression_functions, "lookup", watched)  # field paths in filters
    return seen


@settings(
    max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(source=expressions)
def test_random_expressions_answer_plain_data_or_a_sentence(source: str, reads: list[Any]) -> None:
    reads.clear()
    outcomes = []
    for run in (lambda: evaluate(source, dict(VARIABLES)), lambda: render("{{ " + source + " }}", dict(VARIABLES))):
        try:
            value = run()
        except ExpressionError as exc:
            message = str(exc)
            assert "object at 0x" not in message and "<class" not in message and "Traceback" not in message
            assert "hidden" not in message
            outcomes.append("refused")
            continue
        assert _plain(value), (source, value)
        text = value if isinstance(value, str) else str(value)
        assert "object at 0x" not in text and "<function" not in text and "<class" not in text, (source, text)
        outcomes.append("answered")
    # user._private is never read by name (printing the whole of `user` shows it: that is its data)
    assert not any(isinstance(key, str) and key.startswith("_") for key in reads), (source, reads)
    if check_expression(source) is not None:
        assert outcomes == ["refused", "refused"], source  # refused when checked means refused when run

"""Red-team findings against the flow language (flows/expressions.py, expression_check.py, sandbox.py,
values.py, expression_functions.py, patterns.py), written as an untrusted flow author would attack it.

The tests marked "finding" fail on the code they were written against and pass once the weakness is
fixed; the ones marked "held" are attacks that the defences already stop, kept so they stay stopped.
No test asserts on time: work is measured by what it costs (budget refusals, comparisons made,
memory allocated)."""

from __future__ import annotations

import contextlib
import tracemalloc
from typing import Any

import pytest

from flows import values
from flows.expressions import ExpressionError, check_expression, check_template, evaluate, render
from flows.values import MAX_RESULT_LEN

SECRET = "tok-9f1e-secret-value"


def _refused(template: str, *, by_count: bool = False) -> bool:
    """Whether the template is refused when checked or, failing that, when rendered; `by_count`: a
    refusal by the 20 ms clock does not count (the work was done before the clock was read)."""
    if check_template(template) is not None:
        return True
    try:
        render(template, {})
    except ExpressionError as exc:
        return not (by_count and "takes too long" in str(exc))
    return False


REPRS = ("object at 0x", "<generator", "<function", "<built-in", "<class", "<module", "<bound", "Traceback")


# --- finding: the fast path builds the whole text before measuring it ------------------------------


def test_placeholders_filled_by_lookup_are_measured_before_the_text_is_built() -> None:
    """`{{a}}` 990 times is a valid template (the red team used 1,990, since refused before parsing:
    at most 1,000 marks); with a 100,000-character `a` (the most a value may hold, e.g. set by an
    earlier step) the fast path joined about 100 MB before refusing it."""
    source = "{{a}}" * 990
    assert check_template(source) is None
    variables = {"a": "x" * MAX_RESULT_LEN}
    tracemalloc.start()
    try:
        with pytest.raises(ExpressionError, match="too long"):
            render(source, variables)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"one refused render allocated {peak / 1e6:.0f} MB"


# --- finding: a field path in attribute= is read for every item without being counted --------------

PATH = ".".join(["a"] * 5000)


@pytest.mark.parametrize(
    "template",
    [
        "{{ range(100) | map(attribute='" + PATH + "') | list | length }}",
        "{{ range(100) | selectattr('" + PATH + "') | list | length }}",
        "{{ range(100) | rejectattr('" + PATH + "') | list | length }}",
        "{{ range(100) | sort(attribute='" + PATH + "') | length }}",
        "{{ range(100) | unique(attribute='" + PATH + "') | list | length }}",
        "{{ range(10000) | map(attribute='a.a.a.a.a.a.a.a.a.a') | list | length }}",
    ],
)
def test_reading_a_field_path_for_each_item_is_counted_against_the_budget(
    template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """100 items x 5,000 fields is 500,000 reads in one filter call, 50 times the 10,000 steps a
    render may take; it costs one step today (and 10,000 items x 1,000 fields took 8 s of CPU; the
    20 ms clock is read only after the filter has done all of it)."""
    # the clock's backstop out of the way (a loaded machine would read it first): only counting may refuse
    monkeypatch.setattr(values, "MAX_SECONDS", 3600.0)
    assert _refused(template, by_count=True)  # when checked (a cap on paths) or when run (each read counted)


# --- finding: unique() on numbers whose hashes collide is quadratic ---------------------------------


class _CountedInt(int):
    """A plain whole number that counts how often it is compared for equality."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _CountedInt.compared += 1
        return int.__eq__(self, other)

    __hash__ = int.__hash__


def test_unique_is_not_quadratic_on_numbers_whose_hashes_collide() -> None:
    """Python hashes a whole number n as n mod (2**61 - 1), so i * (2**61 - 1) all share one hash; a
    template can make 3,300 of them (`range(0, 3300*M, M)`, within the size limit), and `unique` then
    made 5 million comparisons in one counted call (about 200 ms)."""
    m = 2**61 - 1
    count = 600
    _CountedInt.compared = 0
    with contextlib.suppress(ExpressionError):  # refusing is fine, if the quadratic work was not done first
        evaluate("items | unique | list | length", {"items": [_CountedInt(i * m) for i in range(count)]})
    assert _CountedInt.compared < 20 * count, f"{_CountedInt.compared:,} comparisons for {count} items"


# --- finding: RE2 is linear in the text, but times the size of the pattern's automaton --------------


def test_a_pattern_with_a_huge_automaton_is_refused_or_counted() -> None:
    """`[\\pL\\pN]{200}` compiles to about 250,000 instructions (Unicode classes); over a 99,000-character
    text built by the template itself, one `matching` test took 1.4 s of CPU for one budget step."""
    template = "{{ ('é' * 20000) is matching('[\\\\pL\\\\pN]{200}[0-9]') }}"
    assert _refused(template)  # when checked (the pattern too large) or when run (its work counted)


# --- finding: Python's compiler refuses what the checker accepted, and its error escapes -----------

COMPILER_LIMITS = [
    pytest.param("{% for a in x %}" * 21 + "{% endfor %}" * 21, id="21-nested-loops"),
    pytest.param("{% if a %}" * 101 + "{% endif %}" * 101, id="101-nested-ifs"),
    pytest.param("{{ x" + " | upper" * 210 + " }}", id="210-chained-filters"),
    pytest.param("{{ 1" + " + 1" * 210 + " }}", id="210-additions"),
    pytest.param("{{ " + "9" * 5000 + " }}", id="5000-digit-number"),
    pytest.param("{{ 0x" + "f" * 20000 + " }}", id="80000-bit-hex-number"),
]


@pytest.mark.parametrize("template", COMPILER_LIMITS)
def test_a_template_past_python_s_compiler_limits_is_refused_in_a_sentence(template: str) -> None:
    """SyntaxError (too many statically nested blocks / nested parentheses), IndentationError and
    ValueError (int max str digits) came out of check_template and render instead of a sentence."""
    reason = check_template(template)
    assert isinstance(reason, str) and "Error" not in reason
    with pytest.raises(ExpressionError):
        render(template, {"x": "a", "a": True})


@pytest.mark.parametrize(
    "expression",
    ["1" + " + 1" * 210, "x" + " | upper" * 210, "0x" + "f" * 3990],
)
def test_an_expression_past_python_s_compiler_limits_is_refused_in_a_sentence(expression: str) -> None:
    reason = check_expression(expression)
    assert isinstance(reason, str) and "Error" not in reason
    with pytest.raises(ExpressionError):
        evaluate(expression, {"x": "a"})


# --- finding: the fast path lets other exceptions out, and disagrees with the language --------------


@pytest.mark.parametrize("template", ["{{ n }}", "{{ data.n }}"])
def test_a_number_too_long_to_print_is_refused_with_a_sentence(template: str) -> None:
    """str() of a whole number with more than 4,300 digits raises ValueError; the fast path let it
    out of render (the sandbox refuses numbers over 4,096 bits)."""
    with pytest.raises(ExpressionError):
        render(template, {"n": 10**5000, "data": {"n": 10**5000}})


@pytest.mark.parametrize(
    ("template", "shown"), [("{{ true }}", "True"), ("{{ false }}", "False"), ("{{ none }}", "None")]
)
def test_constants_read_alone_render_as_the_language_says(template: str, shown: str) -> None:
    """`{{ true }}` alone took the fast path and rendered "" (a missing variable named `true`), while
    `{{ true }}` anywhere else renders "True"."""
    assert render(template, {}) == render(template + "{% if true %}{% endif %}", {}) == shown


# --- held: the filters the checker adds are reachable by name through map/select, but give data ---


@pytest.mark.parametrize(
    "expression",
    [
        "items | map((items | map('chatloom:iterate'))[0]) | list",
        "items | select((items | map('chatloom:iterate'))[0]) | list",
        "items | map('chatloom:iterate') | map('chatloom:iterate') | list | tojson",
    ],
)
def test_no_python_repr_reaches_a_refusal(expression: str) -> None:
    """`map('chatloom:iterate')` calls a filter the checker adds ("a name a person cannot write");
    while iterate was a generator this answered "No filter named <generator object iterate"."""
    try:
        out = str(evaluate(expression, {"items": ["a", "b"]}))
    except ExpressionError as exc:
        out = str(exc)
    assert not any(mark in out for mark in REPRS), out


# --- finding: refusals quote the value, which may be a secret ---------------------------------------


@pytest.mark.parametrize("expression", ["int(secrets.API_KEY)", "float(secrets.API_KEY)", "user[secrets.API_KEY] + 1"])
def test_a_refusal_does_not_quote_a_secret(expression: str) -> None:
    """An HTTP step's templates see the workspace's secrets; its errors are logged and saved in
    http_error. `int(secrets.API_KEY)` answered "“tok-…” is not a number"."""
    with pytest.raises(ExpressionError) as raised:
        evaluate(expression, {"secrets": {"API_KEY": SECRET}, "user": {}})
    assert SECRET not in str(raised.value)


# --- held: attacks the defences stop (not covered by test_expression_attacks / _fuzz) ---------------

FW_LOOP = "\uff4c\uff4f\uff4f\uff50"  # `loop` in fullwidth letters
HELD: list[tuple[str, dict[str, Any]]] = [
    # fullwidth names: Python folds identifiers to NFKC, so a fullwidth `loop` could compile to loop's local
    ("{% for i in items %}{{ loop.index }}{{ " + FW_LOOP + " | tojson }}{% endfor %}", {}),
    ("{% for i in items %}{{ loop.index }}{{ items | map(" + FW_LOOP + ") | list }}{% endfor %}", {}),
    ("{% for i in items %}{{ loop.index }}{{ items | select(" + FW_LOOP + ") | list }}{% endfor %}", {}),
    # attribute names the checker does not see (positional, or handed on by map)
    ("{{ items | sort(false, false, '__class__') }}", {}),
    ("{{ items | map('selectattr', '__class__') | list }}", {}),
    ("{{ items | map('sort', false, false, '__class__') | list }}", {}),
    ("{{ items | map(attribute='a.__class__') | list }}", {}),
    ("{{ items | map(attribute=k) | list }}", {"k": "a.__globals__"}),
    # values Python makes that are not data: complex numbers, generators
    ("{{ (-8) ** 0.5 }}", {}),
    ("{{ ((-8) ** 0.5) ~ '' }}", {}),
    ("{{ [(-8) ** 0.5] | tojson }}", {}),
]


@pytest.mark.parametrize(("template", "values"), HELD)
def test_held_attacks_show_no_object(template: str, values: dict[str, Any]) -> None:
    try:
        out = render(template, {"items": ["a", "b"], **values})
    except ExpressionError as exc:
        out = str(exc)
    assert not any(mark in out for mark in REPRS), out
    assert "LoopContext" not in out and "function" not in out

"""Templates and expressions run in a sandbox: a flow can never execute Python or read files."""

from __future__ import annotations

import pytest

from flows.expressions import ExpressionError, check_expression, check_template, evaluate, render

REFUSED = [
    "().__class__.__bases__[0].__subclasses__()",
    "''.__class__.__mro__[1].__subclasses__()",
    "cycler.__init__.__globals__.os.popen('id').read()",
    "lipsum.__globals__['os'].popen('id').read()",
    "joiner.__init__.__globals__",
    "namespace.__init__.__globals__",
    "config.__class__.__init__.__globals__['os']",
    "self.__init__.__globals__",
    "request.application.__globals__",
    "len.__self__.open('/etc/passwd').read()",
    "'a' * 10**9",
    "range(10**9) | list",
    "[].append(1)",
    "{}.update(a=1)",
    "range.__self__",
    "'{0.__class__}'.format(1)",
    "x.__dict__",
    "str.format('{0.__class__.__mro__}', 1)",
]
# these read nothing: Python attributes of values are never looked up, only data
HARMLESS = ["x.real", "'abc'.upper", "loop_count.index", "items.pop", "user.get"]


@pytest.mark.parametrize("source", REFUSED)
def test_known_escapes_are_refused_in_expressions_and_templates(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source, {})
    with pytest.raises(ExpressionError):
        render("{{ " + source + " }}", {})


@pytest.mark.parametrize("source", HARMLESS)
def test_attributes_of_values_read_nothing(source: str) -> None:
    variables = {"x": 1, "items": [1, 2], "user": {"name": "Ann"}, "loop_count": 3}
    assert evaluate(source, variables) is None
    assert render("{{ " + source + " }}", variables) == ""


def test_templates_fill_variables_and_leave_plain_text_alone() -> None:
    assert render("Hi {{ user.first_name }}, {{ n + 1 }}", {"user": {"first_name": "Ann"}, "n": 1}) == "Hi Ann, 2"
    assert render("no markup", {}) == "no markup"
    assert render("{{ missing }}", {}) == ""


def test_expressions_compute_text_and_numbers() -> None:
    assert evaluate("score + 1", {"score": 2}) == 3
    assert evaluate("name | upper", {"name": "ann"}) == "ANN"
    assert evaluate("'hello ' ~ name", {"name": "ann"}) == "hello ann"
    assert evaluate("answer | lower == 'yes'", {"answer": "YES"}) is True
    assert evaluate("matches(code, '^[A-Z]{3}$')", {"code": "ABC"}) is True
    assert evaluate("missing", {}) is None


def test_broken_markup_is_reported_at_save_time() -> None:
    assert check_template("Hi {{ name ") is not None
    assert check_template("Hi {{ name }}") is None
    assert check_expression("score +") is not None
    assert check_expression("") is not None
    assert check_expression("score + 1") is None


@pytest.mark.parametrize(
    "template",
    [
        "Hi {{ name }}!",
        "{{ user.first_name }} / {{ user.missing }} / {{ nothing }}",
        "{{ n }} {{ f }} {{ flag }} {{ none }} {{ items }} {{ deep.a.b }}",
        "{{name}}{{  name  }}",
        "{{ user.first_name | upper }} and {{ n + 1 }}",  # not simple: goes through Jinja
        "{{ n.real }}",  # a field of a number: goes through the sandbox, which reads data only
        "braces { alone } and {{ name }}",
    ],
)
def test_the_fast_path_renders_exactly_what_jinja_renders(template: str) -> None:
    from flows.expressions import compile_template

    variables = {
        "name": "Ann",
        "user": {"first_name": "Zoe"},
        "n": 3,
        "f": 1.5,
        "flag": True,
        "none": None,
        "items": [1, "a"],
        "deep": {"a": {"b": {"c": 1}}},
    }
    assert render(template, variables) == compile_template(template).render(variables)

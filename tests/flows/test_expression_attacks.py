"""The flow language attacked as an untrusted flow author would: every payload is refused when the
flow is checked (validate, import, publish) and again when it is rendered, and no answer carries a
secret, an environment variable or a Python object's repr."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from flows.expressions import ExpressionError, check_expression, check_template, evaluate, render
from flows.patterns import PatternError, check_pattern, search
from flows.sandbox import Sandbox
from flows.values import MAX_ITEMS, MAX_RESULT_LEN

CANARY_ENV = "CHATLOOM_TEST_CANARY"
CANARY = "canary-7d41c1f0-env-value"
SECRET = "tok-9f1e-secret-value"
VARIABLES: dict[str, Any] = {
    "x": "text",
    "n": 5,
    "items": ["a", "b"],
    "user": {"first_name": "Ann"},
    "secrets": {"API_KEY": SECRET},
}

# Public Jinja2 SSTI payloads (PayloadsAllTheThings, HackTricks, the Jinja2 sandbox CVEs) and the
# findings of issue 13, written as expressions (each is tried both bare and inside {{ }}).
PUBLIC = [
    "str.format('{0.__class__.__mro__}', 1)",
    "str.format('{0.__init__.__globals__}', lipsum)",
    "'{0.__class__}'.format(1)",
    "'{0.__class__.__base__.__subclasses__}'.format(x)",
    "'{a.__globals__}'.format_map({'a': lipsum})",
    "x.format_map({})",
    "''.__class__.__mro__[1].__subclasses__()",
    "''.__class__.__mro__[2].__subclasses__()[40]('/etc/passwd').read()",
    "''.__class__.__base__.__subclasses__()",
    "[].__class__.__base__.__subclasses__()",
    "().__class__.__bases__[0].__subclasses__()",
    "{}.__class__.__base__.__subclasses__()",
    "config.__class__",
    "config.items()",
    "config.__class__.__init__.__globals__['os'].popen('id').read()",
    "self",
    "self.__dict__",
    "self._TemplateReference__context",
    "self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read()",
    "self._TemplateReference__context.joiner.__init__.__globals__.os.popen('id').read()",
    "self._TemplateReference__context.namespace.__init__.__globals__.os.popen('id').read()",
    "self.__init__.__globals__",
    "cycler.__init__.__globals__.os.popen('id').read()",
    "joiner.__init__.__globals__.os.popen('id').read()",
    "namespace.__init__.__globals__.os.popen('id').read()",
    "lipsum.__globals__['os'].popen('id').read()",
    "lipsum.__globals__.__builtins__.open('/etc/passwd').read()",
    "lipsum.__globals__.os.environ",
    "range.__init__.__globals__",
    "range.__self__",
    "len.__self__.open('/etc/passwd').read()",
    "len.__self__.__import__('os').environ",
    "request.application.__globals__.__builtins__.__import__('os').popen('id').read()",
    "request|attr('application')|attr('\\x5f\\x5fglobals\\x5f\\x5f')",
    "''|attr('\\x5f\\x5fclass\\x5f\\x5f')",
    "()|attr('__class__')|attr('__base__')|attr('__subclasses__')()",
    "x|attr('__class__')",
    "x|attr(['_','_class_','_']|join)",
    "x|map(attribute='__class__')|list",
    "items|map(attribute='__class__')|list",
    "items|selectattr('__class__')|list",
    "items|sort(attribute='__class__')",
    "items|groupby('__class__')",
    "x|format('%s')",
    "'%s'|format(x)",
    "'%*d' % (100000000, 1)",
    "'%(a)s' % {'a': 1}",
    "x|pprint",
    "x|xmlattr",
    "x|center(200000000)",
    "x|indent(200000000)",
    "x|wordwrap(1)",
    "x|batch(100000000)|list",
    "x|slice(100000000)|list",
    "x|random",
    "x|filesizeformat",
    "x|urlize",
    "x|safe",
    "x|e",
    "x|striptags",
    "x is callable",
    "x is sameas x",
    "x is filter",
    "x is test",
    "x.upper()",
    "items.pop()",
    "items.append(1)",
    "user.update({'a': 1})",
    "user.items()",
    "user.get('first_name')",
    "user.keys()",
    "[].append(1)",
    "{}.update(a=1)",
    "range(10)|list|attr('pop')()",
    "loop.cycle('a', 'b')",
    "loop.changed(1)",
    "loop",
    "caller()",
    "varargs",
    "kwargs",
    "len",
    "range",
    "matches",
    "len(*items)",
    "len(**user)",
    "round(n, ndigits=2)",
    "x.__len__()",
    "x.__doc__",
    "x.__class__.__name__",
    "_",
    "_x",
    "__builtins__",
    "user._private",
    "user['_private']",
    "user['__class__']",
    "items[0].__class__",
    "secrets.__class__",
    "secrets.API_KEY.__class__",
    "secrets['__init__']",
    "(1).__class__",
    "1.0.__class__",
    "true.__class__",
    "none.__class__",
    "(x ~ '').__class__",
    "lipsum()",
    "cycler('a')",
    "joiner()",
    "namespace(a=1)",
    "dict(a=1)",
    "getattr(x, 'upper')",
    "eval('1')",
    "exec('1')",
    "__import__('os')",
    "open('/etc/passwd')",
    "globals()",
    "super()",
]

# Statements: these are whole templates, not expressions.
STATEMENTS = [
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{% call f() %}x{% endcall %}",
    "{% filter upper %}x{% endfilter %}",
    "{% with a = 1 %}{{ a }}{% endwith %}",
    "{% block b %}x{% endblock %}",
    "{% extends 'base.html' %}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{% from 'os' import environ %}",
    "{% set s %}{% for i in range(10000) %}{{ 'x' * 10000 }}{% endfor %}{% endset %}",
    "{% autoescape false %}x{% endautoescape %}",
    "{% for i in items recursive %}{{ loop(i) }}{% endfor %}",
    "{% set ns = namespace(a=1) %}{% set ns.a = 2 %}",
    "{% set _x = 1 %}",
    "{% for _i in items %}{% endfor %}",
    "{% for i in items %}{{ loop.cycle('a') }}{% endfor %}",
    "{% raw %}{% endraw %}{{ x.__class__ }}",
    "{{ x }}{{ self }}",
    "{% if x.__class__ %}yes{% endif %}",
    "{% for k in user.__dict__ %}{{ k }}{% endfor %}",
]

# Attribute walks through every object the environment exposes: each name a template can reach,
# each attribute that leads out of data in Python, each way of writing the access.
BASES = [
    "x", "n", "items", "user", "secrets", "''", "'a'", "[]", "{}", "()", "1", "1.0", "true", "none",
    "range", "len", "min", "max", "round", "abs", "int", "float", "str", "bool", "lower", "upper",
    "matches", "lipsum", "cycler", "joiner", "namespace", "config", "request", "self", "loop",
    "range(2)", "len(x)", "x|list", "items|map('upper')", "user|items", "x|upper", "x|tojson",
    "items|select('string')", "items|first", "user|dictsort", "(x ~ x)",
]  # fmt: skip
ATTRIBUTES = [
    "__class__", "__globals__", "__init__", "__mro__", "__subclasses__", "__builtins__", "__dict__",
    "__self__", "__func__", "__code__", "__closure__", "__module__", "__reduce_ex__", "__getattribute__",
    "__base__", "__bases__", "__name__", "__qualname__", "__wrapped__", "__call__", "_TemplateReference__context",
    "_Context__self", "__spec__", "__loader__", "__import__", "_undefined_hint", "__func_globals__",
]  # fmt: skip
FORMS = ["{b}.{a}", "{b}['{a}']", "{b}.{a}()", "{b}|attr('{a}')", "{b}.{a}.{a}"]
WALKS = [form.format(b=b, a=a) for b, a, form in itertools.product(BASES, ATTRIBUTES, FORMS)]
METHODS = ["format", "format_map", "mro", "items", "keys", "values", "get", "pop", "upper", "encode", "join"]
CALLS = [f"{b}.{m}()" for b, m in itertools.product(BASES, METHODS)] + [f"{b}.format" for b in BASES]

PAYLOADS = PUBLIC + WALKS + CALLS
FORBIDDEN_IN_ANSWERS = ("object at 0x", "<class", "<function", "<built-in", "<module", "Traceback", "<bound")


@pytest.fixture(autouse=True)
def _canary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CANARY_ENV, CANARY)


def _clean(message: str, payload: str) -> None:
    assert CANARY not in message and SECRET not in message
    for mark in FORBIDDEN_IN_ANSWERS:
        assert mark not in message or mark in payload, f"{payload!r} answered {message!r}"


def test_the_corpus_is_large() -> None:
    assert len(PUBLIC) >= 100
    assert len(PAYLOADS) >= 200


@pytest.mark.parametrize("payload", PUBLIC)
def test_public_payloads_are_refused_when_checked_and_when_run(payload: str) -> None:
    for reason in (check_expression(payload), check_template("{{ " + payload + " }}")):
        assert reason is not None, payload
        _clean(reason, payload)
    with pytest.raises(ExpressionError) as raised:
        evaluate(payload, dict(VARIABLES))
    _clean(str(raised.value), payload)
    with pytest.raises(ExpressionError) as raised:
        render("Hi {{ " + payload + " }}", dict(VARIABLES))
    _clean(str(raised.value), payload)


@pytest.mark.parametrize("template", STATEMENTS)
def test_statements_outside_the_language_are_refused(template: str) -> None:
    reason = check_template(template)
    assert reason is not None, template
    _clean(reason, template)
    with pytest.raises(ExpressionError):
        render(template, dict(VARIABLES))


@pytest.mark.parametrize("group", ["walks", "calls"])
def test_attribute_walks_and_method_calls_through_every_reachable_object_are_refused(group: str) -> None:
    payloads = WALKS if group == "walks" else CALLS
    accepted = []
    for payload in payloads:
        reason = check_expression(payload)
        if reason is None:
            accepted.append(payload)
            continue
        _clean(reason, payload)
        try:
            render("{{ " + payload + " }}", dict(VARIABLES))
        except ExpressionError as exc:
            _clean(str(exc), payload)
        else:
            accepted.append(payload)
    assert accepted == []


# --- the second line: what only the values of a conversation can carry ---------------------------

DYNAMIC = [
    ("x[key]", {"key": "__class__"}),
    ("user[key]", {"key": "__dict__"}),
    ("x[('_' * 2) ~ 'class' ~ ('_' * 2)]", {}),
    ("items|map(attribute=key)|list", {"key": "__class__"}),
    ("items|sort(attribute=key)", {"key": "__class__"}),
    ("user[key][key]", {"key": "_TemplateReference__context"}),
]


@pytest.mark.parametrize(("payload", "values"), DYNAMIC)
def test_a_key_that_comes_from_a_conversation_is_refused_at_render(payload: str, values: dict[str, Any]) -> None:
    assert check_expression(payload) is None  # nothing to see before the conversation gives the key
    with pytest.raises(ExpressionError) as raised:
        evaluate(payload, {**VARIABLES, **values})
    _clean(str(raised.value), payload)


def test_the_sandbox_itself_reads_data_only_even_without_the_checker() -> None:
    """Templates compiled straight by the environment, past the checker: still no way out."""
    env = Sandbox()
    for source in ["{{ x.__class__ }}", "{{ ''.__class__.__mro__ }}", "{{ lipsum }}", "{{ range.__self__ }}"]:
        try:
            out = env.from_string(source).render(VARIABLES)
        except ExpressionError:
            continue
        assert out in ("", "None"), source
    with pytest.raises(ExpressionError):
        env.from_string("{{ x.format(1) }}").render(VARIABLES)  # calling anything but a listed function
    with pytest.raises(ExpressionError):
        env.from_string("{{ str.format('{0.__class__}', 1) }}").render(VARIABLES)


def test_a_flow_cannot_read_the_environment_or_other_secrets() -> None:
    """A message's text is filled in from the conversation's variables alone: the workspace's
    secrets (handed to HTTP steps only) and the server's environment are not among them."""
    from nodes.api import NodeContext, Services

    ctx = NodeContext(vars={"x": 1}, services=Services(secrets={"API_KEY": SECRET}))
    attempts = [
        "{{ secrets }}",
        "{{ secrets.API_KEY }}",
        "{{ environ }}",
        "{{ env }}",
        "{{ os }}",
        "{{ CHATLOOM_TEST_CANARY }}",
        "{% for k in x %}{{ k }}{% endfor %}",
    ]
    for source in attempts:
        try:
            out = ctx.render(source)
        except ExpressionError as exc:
            out = str(exc)
        assert CANARY not in out and SECRET not in out, source


# --- budgets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}",
        "{% for i in range(10000) %}{% for j in range(10000) %}{% set k = j %}{% endfor %}{% endfor %}",
        "{% for i in items %}{% for j in range(10000) %}{% for k in range(10000) %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "{{ 'x' * 10**8 }}",
        "{{ 'x' * 100000 ~ 'y' }}",
        "{{ ['x' * 10000] * 10000 }}",
        "{{ (['x' * 50000] * 2) | join(('y' * 50000)) }}",
        "{{ ('x' * 1000) | replace('x', 'y' * 1000) }}",
        "{{ range(10000) | map('string') | join(',') | replace(',', 'x' * 100) }}",
        "{% for i in range(10000) %}{{ 'x' * 100 }}{% endfor %}",
        "{{ 2 ** 100000 }}",
        "{{ (2 ** 4000) * (2 ** 4000) }}",
        "{{ round(5, -100000000) }}",
        "{{ range(10**9) | list }}",
        "{{ 'x' * 1000 | list }}",
        "{{ '9' * 5000 | int }}",
        "{{ int('9' * 5000) }}",
    ],
)
def test_work_and_size_are_bounded(template: str) -> None:
    assert check_template(template) is None  # all are in the language: only running them is too much
    try:
        out = render(template, dict(VARIABLES))
    except ExpressionError as exc:
        _clean(str(exc), template)
    else:
        assert len(out) <= MAX_RESULT_LEN


def test_constant_folding_never_builds_a_huge_value_while_checking() -> None:
    """`'x' * 10**8` used to be computed at compile time (Jinja's optimizer): checking it is cheap."""
    import tracemalloc

    tracemalloc.start()
    try:
        check_template("{{ 'x' * 100000000 }}{{ 'y' | center(200000000) }}")
        check_template("{{ 'x' * 100000000 }}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000


def test_a_loop_budget_counts_across_nesting() -> None:
    # 200 by 200 = 40,000 turns: each loop alone is small, together they are too much
    with pytest.raises(ExpressionError, match="too much work"):
        render("{% for i in range(200) %}{% for j in range(200) %}{% endfor %}{% endfor %}", {})
    assert render("{% for i in range(50) %}{% for j in range(50) %}{% endfor %}{% endfor %}ok", {}) == "ok"


def test_lists_and_values_stay_within_their_limits() -> None:
    with pytest.raises(ExpressionError):
        evaluate("range(10) | list * 2000", {})
    assert len(evaluate("range(10) | list * 1000", {})) == MAX_ITEMS
    with pytest.raises(ExpressionError, match="nested too deep"):
        render("{{ deep }}", {"deep": _nested(200)})


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def test_the_compiled_template_cache_is_bounded_in_size() -> None:
    from flows import expressions

    for i in range(60):
        check_template("{{ n }}" + ("x" * 99_000) + str(i))
    assert expressions._CACHE.chars <= 4_000_000


def test_a_template_with_too_many_parts_is_refused_before_compiling() -> None:
    source = " ".join(f"{{{{ v{i} | upper }}}}" for i in range(1000))
    reason = check_template(source)
    assert reason is not None and "too many parts" in reason


# --- regular expressions --------------------------------------------------------------------------


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    subject = "a" * 100_000 + "b"
    assert not search("^(a+)+$", subject)
    assert not search("(x+x+)+y", "x" * 100_000)
    assert evaluate("matches(s, '^(a+)+$')", {"s": subject}) is False
    assert render("{{ s is matching('(a|aa)+$') }}", {"s": "a" * 50_000 + "!"}) == "False"


@pytest.mark.parametrize(
    "pattern",
    ["(a)\\1", "(?=a)b", "(?!a)b", "(?<=a)b", "(?<!a)b", "(a{1000}){1000}", "[", "a" * 2000],
)
def test_patterns_re2_cannot_run_are_refused_in_words(pattern: str) -> None:
    reason = check_pattern(pattern)
    assert reason is not None and any(words in reason for words in ("cannot be used", "too long", "not a valid"))
    with pytest.raises(PatternError):
        search(pattern, "a")

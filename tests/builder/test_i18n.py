"""Every word the builder shows goes through one translation function (builder/i18n).

The first tests read the builder's code as a translator's tool would: a text shown through a
NiceGUI element, a notification, a tooltip, a screen reader's name or a table column that is written
out in the code but not passed through `_()` fails them, naming the file and line. The others test
`_()` itself: a catalogue switches a real page, and a broken or hostile catalogue never breaks one.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from nicegui.testing.user import User

from builder.canvas import FlowCanvas
from builder.context import TEMPLATES, Builder
from builder.i18n import FOLDER_ENV, LANGUAGE_ENV, N_, _, language, n_, placeholders
from builder.i18n.extract import BUILDER, builder_modules, collect, main
from builder.i18n.po import CatalogueError, Message, parse_po, template
from flows.document import parse_flow

# NiceGUI elements → (the positions, the keywords) of the arguments a person reads
SHOWN: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    **dict.fromkeys(
        ("label", "button", "badge", "chip", "menu_item", "checkbox", "switch", "expansion"), ((0,), ("text",))
    ),
    "notify": ((0,), ("message",)),
    "link": ((0,), ("text",)),
    "markdown": ((0,), ("content",)),
    "html": ((0,), ("content",)),
    "tooltip": ((0,), ("text",)),
    "tab": ((1,), ("label",)),
    **dict.fromkeys(("input", "textarea", "number"), ((0,), ("label", "placeholder"))),
    "select": ((0,), ("label",)),  # a literal dict or list of options is shown as well
    **dict.fromkeys(("toggle", "radio"), ((0,), ())),
    "upload": ((), ("label",)),
    "run_with": ((), ("title",)),
}
# the builder's own functions that show (or refuse with) the text they are given
HELPERS: dict[str, tuple[int, ...]] = {
    "Refused": (0,),  # graph_edit: said to the user when the canvas proposes an edit the flow cannot take
    "Problem": (1,),  # the editor's own problems list
    "tell": (0,),
    "_refuse": (0,),
    "_travel": (1,),
    "header": (0,),
    "_ask_name": (0,),
    "FileDrop": (0, 1),  # widgets: its button's words and its hint
    "named_dialog": (0,),  # widgets: what a screen reader calls the dialog
    "_action": (1,),
    "button": (1,),  # the editor toolbar's button(icon, tip, …)
}
NAMED_PROPS = ("aria-label", "title", "hint", "placeholder", "label", "error-message")
PROP_TEXT = re.compile(r"""(?:^|\s)(?:{})=(?:"([^"]*)"|'([^']*)')""".format("|".join(NAMED_PROPS)))
LETTER = re.compile(r"[^\W\d_]")
# texts written out on purpose: (module, text) → why
ALLOWED: dict[tuple[str, str], str] = {
    ("builder/app.py", "Chatloom"): "the product's name, the page title in every language",
    ("builder/pages/account.py", "clt_{}_…"): "the start of an API token as it is written, not words",
    ("builder/pages/deployments.py", "CRM_API_KEY"): "an example of a secret's name, typed as it is in any language",
    ("builder/pages/models.py", "gpt-4o-mini"): "an example of a provider's model id, typed as it is",
}


def _literal(node: ast.AST) -> Iterator[ast.Constant | ast.JoinedStr]:
    """The written-out texts an argument shows: itself, or both sides of `a if c else b`, `a or b`, `a + b`."""
    if (isinstance(node, ast.Constant) and isinstance(node.value, str)) or isinstance(node, ast.JoinedStr):
        yield node
    elif isinstance(node, ast.IfExp):
        yield from _literal(node.body)
        yield from _literal(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _literal(value)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        yield from _literal(node.left)
        yield from _literal(node.right)


def _written(node: ast.Constant | ast.JoinedStr) -> str:
    """The text as written, `{}` for what an f-string fills in."""
    if isinstance(node, ast.Constant):
        return str(node.value)
    return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)


def _words(node: ast.Constant | ast.JoinedStr) -> bool:
    constant_parts = (
        [node] if isinstance(node, ast.Constant) else [v for v in node.values if isinstance(v, ast.Constant)]
    )
    return any(LETTER.search(str(p.value)) for p in constant_parts)


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _shown_arguments(call: ast.Call) -> Iterator[ast.expr]:
    name = _name(call.func)
    on_ui = (
        isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) and call.func.value.id == "ui"
    )
    if (on_ui or name == "tooltip") and name in SHOWN:
        positions, keywords = SHOWN[name]
        yield from (call.args[i] for i in positions if i < len(call.args))
        yield from (k.value for k in call.keywords if k.arg in keywords)
        if name in ("select", "toggle", "radio") and call.args:
            options = call.args[0]
            if isinstance(options, ast.Dict):
                yield from options.values
            elif isinstance(options, ast.List | ast.Tuple):
                yield from options.elts
    elif name in HELPERS and not on_ui:
        yield from (call.args[i] for i in HELPERS[name] if i < len(call.args))


def untranslated(source: str, path: str) -> list[str]:
    """Each text a person reads that is written out in this module without `_()`: "path:line: text"."""
    found: list[tuple[int, str]] = []

    def check(node: ast.expr) -> None:
        for text in _literal(node):
            if _words(text) and (path, _written(text)) not in ALLOWED:
                found.append((text.lineno, _written(text)))

    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Call):
            for argument in _shown_arguments(node):
                check(argument)
            if _name(node.func) == "props" and node.args:
                for text in _literal(node.args[0]):
                    for m in PROP_TEXT.finditer(_written(text)):
                        if LETTER.search(m[1] or m[2] or ""):
                            found.append((text.lineno, m[0].strip()))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                shown_attribute = isinstance(target, ast.Attribute) and target.attr == "text"
                shown_prop = (
                    isinstance(target, ast.Subscript)
                    and _name(target.value) == "props"
                    and isinstance(target.slice, ast.Constant)
                    and target.slice.value in NAMED_PROPS
                )
                if shown_attribute or shown_prop:
                    check(node.value)
        elif isinstance(node, ast.Dict):  # a table's columns: {"name": …, "label": "Model", …}
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "label":
                    check(value)
    return [f"{path}:{line}: {text!r}" for line, text in sorted(found)]


def _scopes(tree: ast.AST) -> Iterator[ast.AST]:
    yield tree
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield node


def _own(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a scope, without those of the functions and lambdas inside it."""
    children = [scope.body] if isinstance(scope, ast.Lambda) else getattr(scope, "body", [])
    todo = list(children) if isinstance(children, list) else [children]
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        todo.append(scope.args)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue  # a scope of its own
        yield node
        todo.extend(ast.iter_child_nodes(node))


def shadowed(source: str, path: str) -> list[str]:
    """Functions that call `_()` but also use `_` as a name of their own (`for _, x in …`, `lambda _: …`):
    there `_` is not the translation function."""
    found = []
    for scope in _scopes(ast.parse(source, filename=path)):
        nodes = list(_own(scope))
        calls = [n for n in nodes if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_"]
        binds = [n for n in nodes if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)]
        binds += [n for n in nodes if isinstance(n, ast.arg) and n.arg == "_"]
        if calls and binds:
            found.append(f"{path}:{calls[0].lineno}: `_` is also a variable in this function (line {binds[0].lineno})")
    return found


def mismatched(source: str, path: str) -> list[str]:
    """`_("… {name} …", other=…)`: the values given are not the message's placeholders."""
    found = []
    for call in ast.walk(ast.parse(source, filename=path)):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in ("_", "n_")):
            continue
        texts = call.args[: 1 if call.func.id == "_" else 2]
        if not all(isinstance(t, ast.Constant) and isinstance(t.value, str) for t in texts):
            continue
        wanted = set().union(*(placeholders(t.value) for t in texts))  # type: ignore[attr-defined]
        given = {k.arg for k in call.keywords if k.arg}
        if call.func.id == "n_":
            given.add("count")
        if any(k.arg is None for k in call.keywords):
            continue  # **values: cannot be told by reading
        if wanted != given:
            found.append(f"{path}:{call.lineno}: placeholders {sorted(wanted)}, values {sorted(given)}")
    return found


def _modules() -> list[tuple[str, str]]:
    return [(p.relative_to(BUILDER.parent).as_posix(), p.read_text(encoding="utf-8")) for p in builder_modules()]


def test_every_text_the_builder_shows_goes_through_the_translation_function() -> None:
    found = [line for path, source in _modules() for line in untranslated(source, path)]
    assert not found, "wrap these in _() from builder.i18n (or allow them in ALLOWED, with why):\n" + "\n".join(found)


def test_the_translation_function_is_not_shadowed_by_a_variable_named_underscore() -> None:
    found = [line for path, source in _modules() for line in shadowed(source, path)]
    assert not found, "rename these variables:\n" + "\n".join(found)


def test_each_message_is_given_exactly_its_placeholders() -> None:
    found = [line for path, source in _modules() for line in mismatched(source, path)]
    assert not found, "\n".join(found)


def test_the_check_finds_what_a_developer_would_forget() -> None:
    forgotten = """
from nicegui import ui
def page(name):
    ui.label("Hello")
    ui.button(f"Delete {name}", icon="delete").props('flat aria-label="Delete it"').tooltip("Remove")
    ui.notify("Saved." if name else "Not saved.")
    ui.input("Name", placeholder="Order help")
    ui.select({"a": "Anything"}, label="What")
    ui.table(columns=[{"name": "at", "label": "When", "field": "at"}], rows=[])
    box = ui.label()
    box.text = "Done"
    box.props["aria-label"] = "A box"
    ui.label(_("Fine")).classes("text-lg font-medium").mark("fine")
    ui.button(icon="close").props('flat aria-label="{}"'.format(_("Close")))
    ui.label("500")
"""
    found = untranslated(forgotten, "x.py")
    said = sorted(line.split(": ", 1)[1] for line in found)
    assert said == sorted(
        [
            "'Hello'",
            "'Delete {}'",
            "'Remove'",
            "'aria-label=\"Delete it\"'",
            "'Saved.'",
            "'Not saved.'",
            "'Name'",
            "'Order help'",
            "'What'",
            "'Anything'",
            "'When'",
            "'Done'",
            "'A box'",
        ]
    ), found


def test_the_check_finds_an_underscore_that_hides_the_function() -> None:
    code = """
def f(pairs):
    for _, b in pairs:
        pass
    return _("Done")
def g():
    return [lambda _: _("Hi")]
def h(pairs):
    for _, b in pairs:
        pass
    return [lambda e: _("Fine")]
"""
    assert [line.split(":")[1] for line in shadowed(code, "x.py")] == ["5", "7"]
    assert mismatched('_("Hi {name}", nme=1)\nn_("{count} a", "{count} b", 2)\n', "x.py") == [
        "x.py:1: placeholders ['name'], values ['nme']"
    ]


# the translation function


def _catalogue(folder: Path, language_tag: str, body: str) -> None:
    (folder / f"{language_tag}.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n' + body, encoding="utf-8"
    )


@pytest.fixture
def speaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The builder in a made-up language "xx" whose catalogue is in tmp_path."""
    monkeypatch.setenv(FOLDER_ENV, str(tmp_path))
    monkeypatch.setenv(LANGUAGE_ENV, "xx")
    return tmp_path


def test_english_needs_no_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LANGUAGE_ENV, raising=False)
    assert language() == "en"
    assert _("Saved “{name}”.", name="Quiz") == "Saved “Quiz”."
    assert n_("{count} error", "{count} errors", 1) == "1 error"
    assert n_("{count} error", "{count} errors", 0) == "0 errors"
    assert N_("Flows") == "Flows"


def test_a_catalogue_translates_and_moves_placeholders(speaks: Path) -> None:
    _catalogue(
        speaks,
        "xx",
        'msgid "{who} changed {what}."\nmsgstr "{what} wurde von {who} geändert."\n\n'
        'msgid "{count} error"\nmsgid_plural "{count} errors"\nmsgstr[0] "ein Fehler"\nmsgstr[1] "{count} Fehler"\n\n'
        '#, fuzzy\nmsgid "Flows"\nmsgstr "Flüsse?"\n\n'
        'msgid "Templates"\nmsgstr ""\n',
    )
    assert _("{who} changed {what}.", who="ann", what="the text") == "the text wurde von ann geändert."
    assert n_("{count} error", "{count} errors", 1) == "ein Fehler"
    assert n_("{count} error", "{count} errors", 3) == "3 Fehler"
    assert _("Flows") == "Flows"  # fuzzy: not surely right yet
    assert _("Templates") == "Templates"  # not translated yet
    assert _("Not in the catalogue") == "Not in the catalogue"


def test_a_translation_that_changes_the_placeholders_falls_back_to_english(
    speaks: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _catalogue(
        speaks,
        "xx",
        'msgid "Saved {name}."\nmsgstr "Gespeichert."\n\n'  # drops one
        'msgid "Deleted {name}."\nmsgstr "{name} gelöscht von {user}."\n\n'  # invents one
        'msgid "{count} item"\nmsgid_plural "{count} items"\nmsgstr[0] "ein {thing}"\nmsgstr[1] "{count} Dinge"\n\n'
        'msgid "Renamed {name}."\nmsgstr "{name} umbenannt."\n',
    )
    with caplog.at_level(logging.WARNING, logger="builder.i18n"):
        assert _("Saved {name}.", name="Quiz") == "Saved Quiz."
        assert _("Deleted {name}.", name="Quiz") == "Deleted Quiz."
        assert n_("{count} item", "{count} items", 1) == "1 item"
        assert _("Renamed {name}.", name="Quiz") == "Quiz umbenannt."  # the good entries still count
    assert "left in English" in caplog.text


@pytest.mark.parametrize(
    "hostile",
    [
        "{name.__class__.__init__.__globals__}",
        "{name.__class__}",
        "{name[0]}",
        "{name!r}",
        "{name:>999999999}",
        "{0}",
        "{}",
        "{{name}}",
        "%(name)s %s",
        "{__import__('os').system('x')}",
    ],
)
def test_a_hostile_translation_reaches_no_attribute_and_runs_nothing(speaks: Path, hostile: str) -> None:
    class Tripwire:
        def __getattribute__(self, attribute: str) -> object:
            raise AssertionError(f"the catalogue reached .{attribute}")

        def __format__(self, spec: str) -> str:
            raise AssertionError("the catalogue formatted a value")

        def __str__(self) -> str:
            return "Quiz"

    escaped = hostile.replace("\\", "\\\\").replace('"', '\\"')
    _catalogue(speaks, "xx", f'msgid "Open {{name}}"\nmsgstr "{escaped} {{name}}"\n\n')
    shown = _("Open {name}", name=Tripwire())
    assert shown == f"{hostile} Quiz"  # written as the catalogue has it, the value put in once
    assert len(shown) < 100


def test_values_are_put_in_once_and_never_read_as_placeholders(speaks: Path) -> None:
    _catalogue(speaks, "xx", 'msgid "Saved {name}."\nmsgstr "{name} gespeichert."\n')
    assert _("Saved {name}.", name="{name} {other}") == "{name} {other} gespeichert."


@pytest.mark.parametrize(
    "broken",
    [
        'msgid "Flows"\nmsgstr "Flüsse\n',  # unterminated
        'msgid "Flows"\nmsgstr "Fl"üsse"\n',  # a bare quote
        'msgid "Flows"\nmsgstr Flüsse\n',
        'import os\nos.system("x")\n',
        '"Flows"\n',
    ],
)
def test_a_catalogue_that_cannot_be_read_leaves_the_builder_in_english(speaks: Path, broken: str) -> None:
    _catalogue(speaks, "xx", broken)
    assert _("Flows") == "Flows"
    with pytest.raises(CatalogueError):
        parse_po(broken)


def test_a_language_tag_is_never_a_path(speaks: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (speaks / "evil").mkdir()
    _catalogue(speaks / "evil", "xx", 'msgid "Flows"\nmsgstr "Evil"\n')
    monkeypatch.setenv(LANGUAGE_ENV, "../evil/xx")
    assert language() == "en"
    assert _("Flows") == "Flows"


def test_a_regional_language_uses_its_base_catalogue_and_its_plural_rule(
    speaks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _catalogue(
        speaks,
        "pl",
        'msgid "{count} step"\nmsgid_plural "{count} steps"\n'
        'msgstr[0] "{count} krok"\nmsgstr[1] "{count} kroki"\nmsgstr[2] "{count} kroków"\n',
    )
    monkeypatch.setenv(LANGUAGE_ENV, "pl_PL")
    assert [n_("{count} step", "{count} steps", n) for n in (1, 3, 5, 22, 112)] == [
        "1 krok",
        "3 kroki",
        "5 kroków",
        "22 kroki",
        "112 kroków",
    ]


def test_po_files_as_translation_tools_write_them() -> None:
    entries = parse_po(
        'msgid ""\nmsgstr "Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
        "#: builder/x.py:3\n#, python-brace-format\n"
        'msgid ""\n"Two \\"lines\\"\\n"\n"of text"\nmsgstr "Zwei\\tZeilen"\n'
        '#~ msgid "Old"\n#~ msgstr "Alt"\n'
        'msgctxt "menu"\nmsgid "Open"\nmsgstr "Öffnen"\n'
    )
    assert entries[1:] == [
        ('Two "lines"\nof text', None, ("Zwei\tZeilen",), False),
        ("menu\x04Open", None, ("Öffnen",), False),
    ]


# a real page in another language


async def test_a_catalogue_switches_a_real_page(speaks: Path, user: User) -> None:
    _catalogue(
        speaks,
        "xx",
        'msgid "No flows yet"\nmsgstr "Noch keine Abläufe"\n\n'
        'msgid "Flows"\nmsgstr "Abläufe"\n\n'
        'msgid "New flow"\nmsgstr "Neuer Ablauf"\n',
    )
    await user.open("/")
    await user.should_see("Noch keine Abläufe")
    await user.should_see("Neuer Ablauf")
    await user.should_not_see("No flows yet")
    await user.should_see("Start from a template")  # not in the catalogue: English


async def test_the_editor_shows_node_types_and_its_tools_in_the_catalogues_words(
    speaks: Path, user: User, builder: Builder
) -> None:
    _catalogue(
        speaks,
        "xx",
        'msgid "Send message"\nmsgstr "Nachricht senden"\n\n'
        'msgid "Messages"\nmsgstr "Nachrichten"\n\n'
        'msgid "Show the whole flow"\nmsgstr "Den ganzen Ablauf zeigen"\n\n'
        'msgid "next"\nmsgstr "weiter"\n',
    )
    builder.flows.save_draft(parse_flow((TEMPLATES / "lead_capture.json").read_bytes()))
    await user.open("/flows/lead-capture")
    await user.should_see("Nachricht senden")  # the palette entry of a plugin's node type
    await user.should_see("Nachrichten")  # its category
    fit = user.find(marker="fit").elements.pop()
    assert fit.props["aria-label"] == "Den ganzen Ablauf zeigen"
    cards = user.find(FlowCanvas).elements.pop().props["nodes"]
    sent = [c["data"] for c in cards if c["data"].get("title") == "Nachricht senden"]
    assert sent and all(d["labels"].get("out") in (None, "weiter") for d in sent)


async def test_a_broken_catalogue_does_not_break_a_page(speaks: Path, user: User) -> None:
    _catalogue(speaks, "xx", 'msgid "No flows yet"\nmsgstr "{flows.__class__} {oops}"\n')
    await user.open("/")
    await user.should_see("No flows yet")


# the template a translator starts from


def test_extract_lists_the_builders_messages(tmp_path: Path) -> None:
    messages = {m.msgid: m for m in collect(elsewhere=False)}
    assert "Nothing to undo." in messages
    assert any(w.startswith("builder/pages/editor.py:") for w in messages["Nothing to undo."].where)
    assert messages["{count} error (stop publishing)"].plural == "{count} errors (stop publishing)"
    assert "published a flow" in messages  # marked with N_() where it is defined, translated where shown
    target = tmp_path / "chatloom.pot"
    assert main(["extract", "-o", str(target)]) == 0
    written = target.read_text(encoding="utf-8")
    assert 'msgid "Nothing to undo."' in written
    assert 'msgid "Show the whole flow"' in written
    assert 'msgid "Send a message"' in written or "node type message.send" in written  # a node type's words
    assert "#. role editor" in written
    # a translator's copy of it reads back, and an untranslated template changes nothing
    assert all(not any(forms) for msgid, _plural, forms, _fuzzy in parse_po(written) if msgid)


def test_a_template_reads_back_as_written() -> None:
    odd = Message('Two "quoted"\nlines with a \\ and\ta tab', "plural {count}", ["builder/x.py:1"], braces=True)
    entries = parse_po(template([odd, Message("One")]))
    assert [(msgid, plural) for msgid, plural, _forms, _fuzzy in entries if msgid] == [
        (odd.msgid, "plural {count}"),
        ("One", None),
    ]

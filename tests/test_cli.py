"""The `chatloom` command as a user runs it: real subprocesses, a temporary data folder.

Bad input of every kind must give one line on stderr, the right exit code, no traceback, and
leave the database byte for byte as it was. The bad-input commands run concurrently, once per
module, so the suite stays quick.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from flows.document import flow_from_data
from flows.validate import validate
from nodes.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
Result = subprocess.CompletedProcess[str]

GREETER: dict[str, Any] = {
    "id": "greeter",
    "name": "Greeter",
    "start": "s",
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {
            "id": "hello",
            "type": "message.send",
            "settings": {"text": "Héllo! Ready?", "buttons": [{"title": "Yes", "value": "yes"}, {"title": "No"}]},
            "ui": {"x": 10, "y": 20},
        },
        {"id": "bye", "type": "flow.end", "settings": {"message": "Bye."}},
    ],
    "edges": [
        {"id": "a", "source": "s", "target": "hello"},
        {"id": "b", "source": "hello", "target": "bye"},
    ],
}


def env_for(data: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CHATLOOM_DATA": str(data), **extra}
    for name in ("DATABASE_URL", "CHATLOOM_DEBUG", "CHATLOOM_LOG_LEVEL"):
        if name not in extra:
            env.pop(name, None)
    return env


def chatloom(*args: str, data: Path, stdin: str = "", **env: str) -> Result:
    """Run `python -m chatloom ARGS` the way a user would."""
    return subprocess.run(
        [sys.executable, "-m", "chatloom", *args],
        check=False,
        cwd=ROOT,
        env=env_for(data, **env),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def chatloom_many(calls: Sequence[Sequence[str]], data: Path, stdins: Sequence[str] | None = None) -> list[Result]:
    """Several commands at once (each a real subprocess): independent checks need not wait in line."""
    inputs = list(stdins) if stdins is not None else [""] * len(calls)
    with ThreadPoolExecutor(max_workers=max(2, min(6, (os.cpu_count() or 2) + 1))) as pool:
        return list(pool.map(lambda job: chatloom(*job[0], data=data, stdin=job[1]), zip(calls, inputs, strict=True)))


def write_flow(folder: Path, name: str, flow: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(flow, ensure_ascii=False), encoding="utf-8")
    return path


def one_line_error(result: Result, code: int, words: str) -> None:
    """Exit code, exactly one line on stderr (`chatloom: …`) holding `words`, and no traceback."""
    detail = (result.args, result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert result.returncode == code, detail
    lines = result.stderr.splitlines()
    assert len(lines) == 1, detail
    assert lines[0].startswith("chatloom: ") and words in lines[0], detail
    assert "Traceback" not in result.stderr + result.stdout, detail


def snapshot(data: Path) -> dict[str, bytes]:
    """Every file of the data folder, byte for byte."""
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding one published flow."""
    folder = tmp_path_factory.mktemp("seeded")
    data = folder / "data"
    source = write_flow(folder, "greeter.json", GREETER)
    result = chatloom("import", str(source), "--publish", data=data)
    assert result.returncode == 0, result.stderr
    return data


# -- the simple commands --------------------------------------------------------------------


def test_schema_is_the_flow_json_schema(tmp_path: Path) -> None:
    result = chatloom("schema", data=tmp_path / "data")
    assert result.returncode == 0 and result.stderr == ""
    schema = json.loads(result.stdout)
    assert schema["title"] == "Chatloom flow"
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"id", "name", "nodes", "edges", "schema_version"} <= set(schema["properties"])
    assert not (tmp_path / "data").exists()  # nothing written for a command that reads no database


def test_nodes_lists_the_installed_types(tmp_path: Path) -> None:
    text, as_json = chatloom_many([["nodes"], ["nodes", "--json"]], tmp_path)
    assert text.returncode == 0 and as_json.returncode == 0
    line = next(line for line in text.stdout.splitlines() if line.startswith("message.send "))
    assert "v1" in line and "Messages" in line and "Send message" in line and "(chatloom)" in line
    found = json.loads(as_json.stdout)
    assert {
        "type": "message.send",
        "version": 1,
        "category": "Messages",
        "title": "Send message",
        "distribution": "chatloom",
    } in found["nodes"]
    assert {"flow.start", "flow.end", "flow.call"} <= {n["type"] for n in found["nodes"]}
    assert found["rejected"] == [] and "could not be loaded" not in text.stdout


def test_help_imports_no_server_no_runtime_and_no_heavy_library(tmp_path: Path) -> None:
    code = (
        "import sys, chatloom.cli\n"
        "try:\n    chatloom.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('fastapi', 'uvicorn', 'runtime', 'litellm', 'chromadb', 'torch', 'nicegui', 'sqlalchemy')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]"
    assert "usage: chatloom" in out.stdout and "chat" in out.stdout and "validate" in out.stdout


# -- validate -------------------------------------------------------------------------------


def expected_problems(flow: dict[str, Any]) -> list[str]:
    return [str(p) for p in validate(flow_from_data(flow), Registry.from_entry_points())]


def test_validate_prints_every_problem_and_sets_the_exit_code(tmp_path: Path) -> None:
    warned = json.loads(json.dumps(GREETER))
    warned["nodes"].append({"id": "orphan", "type": "message.send", "settings": {"text": "Hi"}})
    bad = json.loads(json.dumps(GREETER))
    bad["nodes"] += [
        {"id": "ghost", "type": "acme.ghost"},
        {"id": "q", "type": "input.number", "settings": {"prompt": "?", "save_as": "n", "retries": "many"}},
    ]
    bad["nodes"][1]["settings"]["text"] = ""
    bad["edges"] += [
        {"id": "dangling", "source": "hello", "target": "nowhere"},
        {"id": "c", "source": "bye", "target": "ghost"},
    ]
    good_path = write_flow(tmp_path, "good.json", GREETER)
    warned_path = write_flow(tmp_path, "warned.json", warned)
    bad_path = write_flow(tmp_path, "bad.json", bad)
    good, warn, wrong = chatloom_many(
        [["validate", str(good_path)], ["validate", str(warned_path)], ["validate", str(bad_path)]], tmp_path
    )

    assert (good.returncode, good.stdout, good.stderr) == (0, "OK\n", "")

    assert warn.returncode == 0 and warn.stderr == ""
    problems = expected_problems(warned)
    assert len(problems) >= 1 and all(p.startswith("warning: ") for p in problems)
    assert warn.stdout.splitlines() == [*problems, f"OK with {len(problems)} warning{'s' * (len(problems) > 1)}"]
    assert "warning: node orphan: " in warn.stdout

    problems = expected_problems(bad)
    assert wrong.stdout.splitlines() == problems  # every problem, errors first, one per line
    errors = [p for p in problems if p.startswith("error: ")]
    assert len(errors) >= 4
    for expected in (
        "error: node ghost: The node type 'acme.ghost' is not installed",
        "error: node q: “Re-ask after an invalid answer”",
        "error: edge dangling: ",
        "error: node hello: ",
    ):
        assert expected in wrong.stdout
    one_line_error(wrong, 1, f"bad.json: {len(errors)} error(s), {len(problems) - len(errors)} warning(s).")


# -- import, export, flows ------------------------------------------------------------------


def test_import_export_round_trip_gives_the_same_bytes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    messy = {  # keys in another order, no indentation, defaults left out: export makes it canonical
        "edges": GREETER["edges"],
        "nodes": GREETER["nodes"],
        "start": "s",
        "name": "Greeter",
        "id": "greeter",
    }
    source = tmp_path / "messy.json"
    source.write_text(json.dumps(messy, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    assert chatloom("flows", data=data).stdout == "No flows yet. Add one with `chatloom import FLOW.json`.\n"

    result = chatloom("import", str(source), "--publish", "--note", "first", data=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Imported 'greeter' and published it as version 1.\n"
    first = tmp_path / "first.json"
    result = chatloom("export", "greeter", "-o", str(first), data=data)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    assert json.loads(first.read_text(encoding="utf-8")) == flow_from_data(messy).model_dump(mode="json")

    result = chatloom("import", str(first), data=data)
    assert result.returncode == 0 and "previous draft was replaced" in result.stdout
    again, published, listed = chatloom_many(
        [["export", "greeter"], ["export", "greeter", "--version", "1"], ["flows"]], data
    )
    assert again.stdout.encode() == first.read_bytes()
    assert published.stdout == again.stdout
    assert listed.stdout.split() == ["greeter", "v1", "Greeter"]


def test_unknown_node_types_survive_import_and_export(tmp_path: Path) -> None:
    flow = json.loads(json.dumps(GREETER))
    plugin_node = {
        "id": "crm",
        "type": "acme.crm_lookup",
        "version": 4,
        "settings": {"deep": {"x": [1]}},
        "ui": {"x": 1},
    }
    flow["nodes"].append(plugin_node)
    path = write_flow(tmp_path, "with_plugin.json", flow)
    result = chatloom("import", str(path), data=tmp_path / "data")
    assert result.returncode == 0 and "cannot be published until they are fixed" in result.stdout
    exported = json.loads(chatloom("export", "greeter", data=tmp_path / "data").stdout)
    assert exported["nodes"][-1] == plugin_node


# -- bad input ------------------------------------------------------------------------------

UNKNOWN_TYPES = {
    "id": "unknown",
    "name": "Unknown",
    "start": "s",
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {"id": "x", "type": "acme.missing"},
        {"id": "y", "type": "acme.ghost"},
    ],
    "edges": [{"id": "e", "source": "s", "target": "x"}, {"id": "f", "source": "x", "target": "y"}],
}
WRONG_SETTING = {
    "id": "wrong",
    "name": "Wrong",
    "start": "s",
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {"id": "q", "type": "input.number", "settings": {"prompt": "?", "save_as": "n", "retries": "lots"}},
    ],
    "edges": [{"id": "e", "source": "s", "target": "q"}],
}


def _huge(path: Path) -> None:
    with path.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk


def _bytes(content: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(content)

    return write


def _setting(value: bytes) -> bytes:
    """A flow file whose start node has `value` (raw JSON) as a setting."""
    return b'{"id": "x", "name": "X", "nodes": [{"id": "s", "type": "flow.start", "settings": {"n": ' + value + b"}}]}"


# name → (how to make the file, exit code, words in the one line, whether a plain import also fails)
BAD_FILES: dict[str, tuple[Callable[[Path], None] | None, int, str, bool]] = {
    "missing": (None, 2, "missing.json: no such file.", True),
    "folder": (lambda p: p.mkdir(), 2, "is a folder, not a flow file", True),
    "malformed": (_bytes(b'{"id": "x", "nodes": ['), 2, "is not valid JSON (line 1", True),
    "binary": (_bytes(bytes(range(256)) * 4), 2, "is not text", True),
    "empty": (_bytes(b""), 2, "empty.json is empty.", True),
    "a_list": (_bytes(b"[1, 2]"), 2, "is not a Chatloom flow", True),
    "not_a_flow": (_bytes(b'{"hello": "world"}'), 2, "is not a Chatloom flow", True),
    "future": (_bytes(b'{"schema_version": 7, "id": "x", "name": "X", "nodes": []}'), 2, "schema version 7", True),
    "settings_list": (
        _bytes(b'{"id": "x", "name": "X", "nodes": [{"id": "a", "type": "flow.start", "settings": []}]}'),
        2,
        "is not a valid flow",
        True,
    ),
    "huge": (_huge, 2, "is 50.0 MB; a flow file may be at most 5 MB.", True),
    "unknown_types": (
        _bytes(json.dumps(UNKNOWN_TYPES).encode()),
        1,
        "node types not installed: acme.ghost, acme.missing",
        False,
    ),
    "wrong_setting": (_bytes(json.dumps(WRONG_SETTING).encode()), 1, "node q: “Re-ask after an invalid answer”", False),
    # an attacker's files: each used to end in `internal error` (or in a flow no database takes)
    "digits": (_bytes(_setting(b"9" * 5000)), 2, "holds a number 5,000 characters long", True),
    "infinite": (_bytes(_setting(b"1e999")), 2, "holds a number too large to use", True),
    "nan": (_bytes(_setting(b"NaN")), 2, "holds NaN, which is not a number in JSON", True),
    "nested": (_bytes(_setting(b"[" * 100_000 + b"]" * 100_000)), 2, "is nested too deeply to be a flow", True),
    "nested_less": (_bytes(_setting(b"[" * 900 + b"]" * 900)), 2, "nested more than 64 levels deep", True),
    "nul": (_bytes(_setting(rb'"\u0000"')), 2, "holds a NUL character (\\u0000)", True),
    "raw_nul": (_bytes(b'{"id": "x", "name": "X\x00", "nodes": []}'), 2, "is not valid JSON (line 1", True),
    "surrogate": (_bytes(_setting(rb'"\udc00"')), 2, "not valid Unicode (a lone surrogate)", True),
    "wrong_types": (_bytes(b'{"id": 7, "name": ["X"], "nodes": {"s": 1}}'), 2, "is not a valid flow", True),
}
VALIDATE_WORDS = {
    "unknown_types": [
        "error: node x: The node type 'acme.missing' is not installed",
        "error: node y: The node type 'acme.ghost' is not installed",
    ],
    "wrong_setting": ["error: node q: “Re-ask after an invalid answer”"],
}
COMMANDS = {
    "import": ["import"],
    "publish": ["import", "--publish"],
    "chat": ["chat", "--json"],
    "validate": ["validate"],
}


@pytest.fixture(scope="module")
def bad_runs(seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[tuple[str, str], Result], bool]:
    """Every bad file through every command, concurrently; and whether the database stayed the same."""
    folder = tmp_path_factory.mktemp("bad")
    before = snapshot(seeded)
    calls, keys = [], []
    for name, (make, _, _, plain_import_fails) in BAD_FILES.items():
        path = folder / name / f"{name}.json"  # one folder each: chat loads the flows beside the file
        path.parent.mkdir()
        if make is not None:
            make(path)
        for command, args in COMMANDS.items():
            if command == "import" and not plain_import_fails:
                continue  # a draft may have errors: a plain import of it succeeds
            calls.append([*args, str(path)])
            keys.append((name, command))
    results = chatloom_many(calls, seeded)
    return dict(zip(keys, results, strict=True)), snapshot(seeded) == before


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_get_one_line_and_the_right_exit_code(
    bad_runs: tuple[dict[tuple[str, str], Result], bool], name: str
) -> None:
    _, code, words, _ = BAD_FILES[name]
    runs = {command: result for (case, command), result in bad_runs[0].items() if case == name}
    assert set(runs) >= {"publish", "chat", "validate"}
    for command, result in runs.items():
        if command == "validate" and code == 1:  # validate lists every problem on stdout, then sums up
            for words in VALIDATE_WORDS[name]:
                assert words in result.stdout, result
            one_line_error(result, 1, "error(s)")
        else:
            one_line_error(result, code, words)


def test_bad_files_leave_the_database_as_it_was(
    bad_runs: tuple[dict[tuple[str, str], Result], bool], seeded: Path
) -> None:
    assert bad_runs[1], "a refused command changed the database"
    assert chatloom("flows", data=seeded).stdout.split() == ["greeter", "v1", "Greeter"]


def test_bad_arguments_and_unknown_flows(seeded: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(seeded, data)
    before = snapshot(data)
    good = write_flow(tmp_path, "greeter.json", GREETER)
    (tmp_path / "out").mkdir()
    results = chatloom_many(
        [
            ["export", "nope"],
            ["export", "greeter", "--version", "9"],
            ["export", "greeter", "-o", str(tmp_path / "out")],
            ["export", "greeter", "-o", str(tmp_path / "no" / "such" / "folder.json")],
            ["chat", str(good), "--var", "oops"],
            ["validate"],
            ["import", str(good), "--publish", "--bogus"],
            ["frobnicate"],
            ["serve", "--port", "0"],
        ],
        data,
    )
    one_line_error(results[0], 2, "There is no flow 'nope'.")
    one_line_error(results[1], 2, "There is no version 9 of flow 'greeter'.")
    one_line_error(results[2], 2, "is a folder; give a file name to write.")
    one_line_error(results[3], 1, "folder.json cannot be written: No such file or directory.")
    one_line_error(results[4], 2, "--var takes NAME=VALUE, not 'oops'.")
    one_line_error(results[5], 2, "the following arguments are required: file (see `chatloom validate --help`)")
    one_line_error(results[6], 2, "unrecognized arguments: --bogus")
    one_line_error(results[7], 2, "invalid choice: 'frobnicate'")
    one_line_error(results[8], 2, "--port 0: a port is a number from 1 to 65535.")
    assert snapshot(data) == before
    assert not (tmp_path / "out" / "greeter.json").exists()


def test_reading_commands_create_no_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    listed, missing = chatloom_many([["flows"], ["export", "greeter"]], data)
    assert listed.returncode == 0 and "No flows yet" in listed.stdout
    one_line_error(missing, 2, "There is no flow 'greeter' (there is no database in")
    assert not data.exists()


def test_database_errors_are_one_line_and_keep_passwords_secret(tmp_path: Path) -> None:
    broken = chatloom("flows", data=tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/no/such/folder/x.db")
    one_line_error(broken, 1, "database error: ")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    one_line_error(chatloom("flows", data=not_a_folder), 2, "is a file, not a folder.")
    pytest.importorskip("psycopg")
    refused = chatloom("flows", data=tmp_path, DATABASE_URL="postgresql+psycopg://ann:hunter2@127.0.0.1:1/chatloom")
    one_line_error(refused, 1, "database error: ")
    assert "hunter2" not in refused.stderr + refused.stdout


@pytest.mark.parametrize("debug", ["", "1"])
def test_a_bug_is_one_line_and_exit_70_with_the_traceback_only_when_debugging(tmp_path: Path, debug: str) -> None:
    code = (
        "import sys, chatloom.cli as cli\n"
        "def broken(args):\n    raise KeyError('the bug')\n"
        "cli._schema = broken\n"
        "sys.exit(cli.main(['schema']))\n"
    )
    env = env_for(tmp_path, CHATLOOM_DEBUG=debug) if debug else env_for(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 70
    last = result.stderr.splitlines()[-1]
    assert last.startswith("chatloom: internal error: KeyError: 'the bug'")
    if debug:
        assert "Traceback" in result.stderr and "in broken" in result.stderr
    else:
        assert result.stderr.count("\n") == 1 and "CHATLOOM_DEBUG=1" in last


# -- what reaches the terminal --------------------------------------------------------------

# what a flow may hide in a name or a message: colours, a cleared screen, a window title, a link,
# a carriage return that overwrites the line, C1's CSI, and text shown right to left
HOSTILE = "\x1b[31mRed\x1b[2J\x1b]0;pwned\x07\x1b]8;;https://evil.example\x07link\x1b]8;;\x07\rover\x9b2J\u202eevil\u2066x\u2069\x7f"
TERMINAL_DRIVERS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def raw_controls(result: Result) -> list[str]:
    """The characters a terminal would act on, in what the command printed (newlines aside)."""
    return TERMINAL_DRIVERS.findall(result.stdout + result.stderr)


def test_names_and_messages_from_a_flow_never_drive_the_terminal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    flow = json.loads(json.dumps(GREETER))
    flow["name"] = HOSTILE
    flow["nodes"][1]["settings"] = {"text": f"Hi {HOSTILE}\nline two", "buttons": [{"title": HOSTILE}]}
    flow["nodes"].append({"id": "odd", "type": f"acme.{HOSTILE}"})  # a missing node type, named in problems
    flow["edges"].append({"id": "c", "source": "bye", "target": "odd"})
    source = write_flow(tmp_path, "hostile.json", flow)
    imported = chatloom("import", str(source), data=data)
    assert imported.returncode == 0, imported.stderr
    runnable = json.loads(json.dumps(flow))
    runnable["nodes"].pop()
    runnable["edges"].pop()
    (tmp_path / "chat").mkdir()  # alone in its folder: chat loads the flows beside it
    chat_file = write_flow(tmp_path / "chat", "hostile.json", runnable)
    listed, checked, talked, as_json, exported, refused = chatloom_many(
        [
            ["flows"],
            ["validate", str(source)],
            ["chat", str(chat_file)],
            ["chat", "--json", str(chat_file)],
            ["export", "greeter"],
            ["import", str(source), "--publish"],
        ],
        data,
        stdins=["", "", "1\n", "1\n", "", ""],
    )
    for result in (listed, checked, talked, as_json, exported, refused):
        assert raw_controls(result) == [], (result.args, result.stdout[-500:], result.stderr[-500:])
    assert "\\x1b[31mRed\\x1b[2J" in listed.stdout and "\\u202eevil" in listed.stdout  # shown, harmless
    assert "acme.\\x1b[31mRed" in checked.stdout and checked.returncode == 1
    assert "bot> Hi \\x1b[31mRed" in talked.stdout and "1) \\x1b[31mRed" in talked.stdout
    said = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert said[0]["text"] == f"Hi {HOSTILE}\nline two"  # JSON: escaped on screen, the same to a program
    assert json.loads(exported.stdout)["name"] == HOSTILE
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1
    saved = tmp_path / "saved.json"
    assert chatloom("export", "greeter", "-o", str(saved), data=data).returncode == 0
    written = saved.read_text(encoding="utf-8")  # a file gets the canonical bytes, which keep the text as it is
    assert json.loads(written)["name"] == HOSTILE and "\u202eevil" in written and "\\u202e" not in written


def test_a_name_stored_by_another_route_is_escaped_too(tmp_path: Path) -> None:
    from flows.db import make_engine
    from flows.models import Flow
    from flows.store import FlowStore

    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'chatloom.db'}")
    FlowStore(engine).save_draft(Flow.model_validate({**GREETER, "name": "Nul\x00here \x1bc"}))  # not through a file
    engine.dispose()
    listed = chatloom("flows", data=data)
    assert listed.returncode == 0 and raw_controls(listed) == [] and "Nul\\x00here \\x1bc" in listed.stdout

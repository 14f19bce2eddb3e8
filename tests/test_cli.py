"""The `chatloom` command as a user runs it: real subprocesses, a temporary data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "flows" / "templates"


def chatloom(*args: str, data: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHATLOOM_DATA": str(data)}
    env.pop("DATABASE_URL", None)
    env.pop("CHATLOOM_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "chatloom", *args],
        check=False,
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("chatloom:")]
    assert lines and words in lines[-1], result.stderr
    assert "Traceback" not in result.stderr


def test_schema_and_nodes(tmp_path: Path) -> None:
    schema = json.loads(chatloom("schema", data=tmp_path).stdout)
    assert schema["title"] == "Chatloom flow" and "nodes" in schema["properties"]
    listed = chatloom("nodes", data=tmp_path).stdout
    assert "message.send" in listed and "input.email" in listed and "(chatloom)" in listed
    as_json = json.loads(chatloom("nodes", "--json", data=tmp_path).stdout)
    assert {
        "type": "http.request",
        "version": 1,
        "category": "Integrations",
        "title": "HTTP request",
        "distribution": "chatloom",
    } in as_json["nodes"]
    assert as_json["rejected"] == []


def test_validate_prints_every_problem_and_sets_the_exit_code(tmp_path: Path) -> None:
    ok = chatloom("validate", str(TEMPLATES / "faq_menu.json"), data=tmp_path)
    assert ok.returncode == 0 and ok.stdout.strip() == "OK"
    flow = json.loads((TEMPLATES / "lead_capture.json").read_text())
    flow["nodes"].append({"id": "ghost", "type": "acme.ghost"})
    flow["nodes"][2]["settings"]["retries"] = "many"
    flow["edges"].append({"id": "dangling", "source": "hello", "target": "nowhere"})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(flow))
    result = chatloom("validate", str(bad), data=tmp_path)
    assert result.returncode == 1
    assert "error: node ghost: The node type 'acme.ghost' is not installed" in result.stdout
    assert "error: node name: “Re-ask after an invalid answer”" in result.stdout
    assert "error: edge dangling:" in result.stdout
    assert "warning: node ghost:" in result.stdout  # unreachable too
    warn = tmp_path / "warn.json"
    flow = json.loads((TEMPLATES / "faq_menu.json").read_text())
    flow["nodes"].append({"id": "orphan", "type": "message.send", "settings": {"text": "Hi"}})
    warn.write_text(json.dumps(flow))
    result = chatloom("validate", str(warn), data=tmp_path)
    assert result.returncode == 0 and result.stdout.strip().endswith("OK with 2 warning(s)")


def test_import_export_round_trip_gives_the_same_bytes(tmp_path: Path) -> None:
    source = TEMPLATES / "quiz.json"
    result = chatloom("import", str(source), "--publish", "--note", "first", data=tmp_path)
    assert result.returncode == 0 and "published 'quiz' as version 1" in result.stdout
    first = tmp_path / "first.json"
    assert chatloom("export", "quiz", "-o", str(first), data=tmp_path).returncode == 0
    assert chatloom("import", str(first), data=tmp_path).returncode == 0
    again = chatloom("export", "quiz", data=tmp_path).stdout
    assert first.read_text() == again == source.read_text()
    assert chatloom("export", "quiz", "--version", "1", data=tmp_path).stdout == again
    listed = chatloom("flows", data=tmp_path).stdout
    assert listed.split()[:3] == ["quiz", "v1", "Quiz"]


def test_unknown_node_types_survive_import_and_export(tmp_path: Path) -> None:
    flow = json.loads((TEMPLATES / "faq_menu.json").read_text())
    flow["nodes"].append(
        {"id": "crm", "type": "acme.crm_lookup", "version": 4, "settings": {"deep": {"x": [1]}}, "ui": {"x": 1, "y": 2}}
    )
    path = tmp_path / "with_plugin.json"
    path.write_text(json.dumps(flow))
    assert chatloom("import", str(path), data=tmp_path).returncode == 0
    exported = json.loads(chatloom("export", "faq-menu", data=tmp_path).stdout)
    assert exported["nodes"][-1] == flow["nodes"][-1]


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "code", "words"),
    [
        ("broken.json", b'{"id": "x", "nodes": [', 2, "not valid JSON (line 1"),
        ("binary.json", bytes(range(256)) * 4, 2, "not text"),
        ("list.json", b"[1, 2]", 2, "not a Chatloom flow"),
        ("future.json", b'{"schema_version": 7, "id": "x", "name": "X", "nodes": []}', 2, "schema version 7"),
        (
            "types.json",
            b'{"id": "x", "name": "X", "nodes": [{"id": "a", "type": "flow.start", "settings": []}]}',
            2,
            "not a valid flow",
        ),
        (
            "unknown.json",
            json.dumps(
                {
                    "id": "u",
                    "name": "U",
                    "start": "s",
                    "nodes": [{"id": "s", "type": "flow.start"}, {"id": "x", "type": "acme.missing"}],
                    "edges": [{"id": "e", "source": "s", "target": "x"}],
                }
            ).encode(),
            1,
            "it has errors",
        ),
        (
            "settings.json",
            json.dumps(
                {
                    "id": "w",
                    "name": "W",
                    "start": "s",
                    "nodes": [
                        {"id": "s", "type": "flow.start"},
                        {
                            "id": "q",
                            "type": "input.number",
                            "settings": {"prompt": "?", "save_as": "n", "retries": "lots"},
                        },
                    ],
                    "edges": [{"id": "e", "source": "s", "target": "q"}],
                }
            ).encode(),
            1,
            "it has errors",
        ),
    ],
)
def test_bad_files_get_one_line_and_leave_the_database_as_it_was(
    tmp_path: Path, name: str, content: bytes, code: int, words: str
) -> None:
    assert chatloom("import", str(TEMPLATES / "quiz.json"), "--publish", data=tmp_path).returncode == 0
    before = chatloom("flows", data=tmp_path).stdout
    path = write(tmp_path, name, content)
    one_line_error(chatloom("import", str(path), "--publish", data=tmp_path), code, words)
    one_line_error(chatloom("chat", str(path), "--json", data=tmp_path), code, words)
    assert chatloom("flows", data=tmp_path).stdout == before


def test_a_huge_file_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    one_line_error(chatloom("validate", str(huge), data=tmp_path), 2, "50.0 MB; a flow file may be at most 5 MB")
    one_line_error(chatloom("validate", str(tmp_path), data=tmp_path), 2, "is a folder")
    one_line_error(chatloom("validate", str(tmp_path / "nope.json"), data=tmp_path), 2, "no such file")
    one_line_error(chatloom("export", "nope", data=tmp_path), 2, "There is no flow 'nope'")
    one_line_error(chatloom("chat", str(TEMPLATES / "quiz.json"), "--var", "oops", data=tmp_path), 2, "NAME=VALUE")


def test_help_imports_no_server_and_no_heavy_library(tmp_path: Path) -> None:
    code = (
        "import sys, chatloom.cli; chatloom.cli._parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'fastapi', 'uvicorn', 'runtime', 'sqlalchemy', 'litellm', 'chromadb', 'torch', 'nicegui'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert "chat" in chatloom("--help", data=tmp_path).stdout

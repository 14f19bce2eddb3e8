"""`chatloom chat`: the terminal chat and its --json mode for scripts, on the real runtime."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import ROOT, chatloom, chatloom_many, env_for, one_line_error, write_flow


def needs(*node_modules: str) -> None:
    """Skip when a node type the test uses is not there (others are writing them)."""
    for module in node_modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not written yet")


def lines_of(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


ASK = {
    "id": "ask",
    "name": "Ask",
    "start": "s",
    "variables": [{"name": "count", "type": "number", "default": 1}],
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {
            "id": "hello",
            "type": "message.send",
            "settings": {
                "text": "Hi {{ user.id }}, {{ count + 1 }} questions. Ready?",
                "buttons": [{"title": "Yes", "value": "yes"}, {"title": "Not yet"}],
            },
        },
        {"id": "said", "type": "input.text", "settings": {"prompt": "Say something.", "save_as": "said"}},
        {"id": "bye", "type": "flow.end", "settings": {"message": "You said {{ said }}."}},
    ],
    "edges": [
        {"id": "a", "source": "s", "target": "hello"},
        {"id": "b", "source": "hello", "target": "said"},
        {"id": "c", "source": "said", "source_port": "valid", "target": "bye"},
    ],
}
HELLO = {
    "text": "Hi you, 2 questions. Ready?",
    "buttons": [{"title": "Yes", "value": "yes"}, {"title": "Not yet", "value": "Not yet"}],
}


TYPED = {"1": "yes", "2": "Not yet", "not YET": "Not yet", "3": "3", '{"text": "1"}': "1"}  # typed → saved


def test_json_mode_writes_one_object_per_bot_message_and_numbers_pick_buttons(tmp_path: Path) -> None:
    needs("nodes.inputs.text")
    path = write_flow(tmp_path, "ask.json", ASK)
    after_the_end = "ignored: the flow has ended\n"
    calls = [("chat", str(path), "--json") for _ in TYPED]
    stdins = [f"{typed}\n{after_the_end}" for typed in TYPED]
    results = chatloom_many(calls, tmp_path / "data", stdins)
    for said, result in zip(TYPED.values(), results, strict=True):
        assert (result.returncode, result.stderr) == (0, ""), result
        assert lines_of(result.stdout) == [HELLO, {"text": "Say something."}, {"text": f"You said {said}."}]


def test_variables_and_user_id_from_the_command_line(tmp_path: Path) -> None:
    needs("nodes.inputs.text")
    path = write_flow(tmp_path, "ask.json", ASK)
    result = chatloom("chat", str(path), "--json", "--var", "count=41", "--user-id", "ann", data=tmp_path, stdin="")
    assert result.returncode == 0, result.stderr
    assert lines_of(result.stdout)[0]["text"] == "Hi ann, 42 questions. Ready?"
    wrong = chatloom("chat", str(path), "--json", "--var", "count=many", data=tmp_path)
    one_line_error(wrong, 2, "--var count: the flow declares a number, not 'many'.")


COFFEE = {
    "id": "coffee",
    "name": "Coffee",
    "start": "s",
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {
            "id": "pick",
            "type": "input.choice",
            "settings": {
                "prompt": "Coffee, {{ user.id }}?",
                "save_as": "drink",
                "branch_per_option": False,
                "options": [{"title": "Espresso", "value": "esp"}, {"title": "Latte"}],
            },
        },
        {"id": "pause", "type": "flow.wait", "settings": {"amount": 2, "unit": "seconds", "message": "Brewing…"}},
        {"id": "call", "type": "flow.call", "settings": {"flow_id": "tip", "share": ["drink", "tip"]}},
        {"id": "done", "type": "flow.end", "settings": {"message": "Your {{ drink }} is ready. Tip: {{ tip }}."}},
    ],
    "edges": [
        {"id": "a", "source": "s", "target": "pick"},
        {"id": "b", "source": "pick", "source_port": "valid", "target": "pause"},
        {"id": "c", "source": "pause", "target": "call"},
        {"id": "d", "source": "call", "target": "done"},
    ],
}
TIP = {
    "id": "tip",
    "name": "Tip",
    "start": "s",
    "nodes": [
        {"id": "s", "type": "flow.start"},
        {"id": "q", "type": "input.number", "settings": {"prompt": "Tip for the {{ drink }}?", "save_as": "tip"}},
        {"id": "e", "type": "flow.end"},
    ],
    "edges": [
        {"id": "a", "source": "s", "target": "q"},
        {"id": "b", "source": "q", "source_port": "valid", "target": "e"},
    ],
}


def coffee_folder(tmp_path: Path) -> Path:
    write_flow(tmp_path, "tip.json", TIP)
    (tmp_path / "notes.json").write_text('{"not": "a flow"}')  # ignored: the folder may hold other files
    (tmp_path / "broken.json").write_bytes(b"\xff\xfe{")
    return write_flow(tmp_path, "coffee.json", COFFEE)


def test_sub_flows_from_the_folder_and_waits_in_fast_mode(tmp_path: Path) -> None:
    needs("nodes.inputs.choice", "nodes.inputs.number")
    path = coffee_folder(tmp_path)
    result = chatloom("chat", str(path), "--json", "--fast", "--user-id", "ann", data=tmp_path, stdin="2\n1,5\n")
    assert (result.returncode, result.stderr) == (0, "")
    assert lines_of(result.stdout) == [
        {
            "text": "Coffee, ann?",
            "buttons": [{"title": "Espresso", "value": "esp"}, {"title": "Latte", "value": "Latte"}],
        },
        {"text": "Brewing…"},  # the wait node; the chat waits for its timer before reading on
        {"text": "Tip for the Latte?"},
        {"text": "Your Latte is ready. Tip: 1.5."},
    ]


def test_titles_message_objects_and_old_buttons_forgotten(tmp_path: Path) -> None:
    needs("nodes.inputs.choice", "nodes.inputs.number")
    path = coffee_folder(tmp_path)
    # "1" answers the tip question: the drink buttons belong to the earlier question
    stdin = 'espresso\n{"text": "two", "choice": null}\n{"oops": 1}\n{not json\n1\n'
    result = chatloom("chat", str(path), "--json", "--fast", data=tmp_path, stdin=stdin)
    assert result.returncode == 0
    assert [m["text"] for m in lines_of(result.stdout)][1:] == [
        "Brewing…",
        "Tip for the esp?",
        "Please answer with a number.",
        "Tip for the esp?",
        "Your esp is ready. Tip: 1.",
    ]
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2 and all(w.startswith("chatloom: warning: line ") for w in warnings), warnings
    assert "line 3 not sent: unknown key(s) 'oops'" in warnings[0] and "line 4 not sent" in warnings[1]


def test_media_answers_as_json_lines(tmp_path: Path) -> None:
    needs("nodes.inputs.file")
    flow = {
        "id": "upload",
        "name": "Upload",
        "start": "s",
        "nodes": [
            {"id": "s", "type": "flow.start"},
            {"id": "f", "type": "input.file", "settings": {"prompt": "Your photo?", "save_as": "photo"}},
            {"id": "e", "type": "flow.end", "settings": {"message": "Got {{ photo.name }} ({{ photo.kind }})."}},
        ],
        "edges": [
            {"id": "a", "source": "s", "target": "f"},
            {"id": "b", "source": "f", "source_port": "valid", "target": "e"},
        ],
    }
    path = write_flow(tmp_path, "upload.json", flow)
    photo = {"text": "", "media": {"kind": "image", "url": "https://example.test/cat.jpg", "name": "cat.jpg"}}
    result = chatloom("chat", str(path), "--json", data=tmp_path, stdin=f"no photo\n{json.dumps(photo)}\n")
    assert (result.returncode, result.stderr) == (0, "")
    assert [m["text"] for m in lines_of(result.stdout)] == [
        "Your photo?",
        "Please send a photo or a voice note or a video or a file as an attachment.",
        "Your photo?",
        "Got cat.jpg (image).",
    ]


def test_interactive_mode_numbers_the_buttons_and_restarts(tmp_path: Path) -> None:
    needs("nodes.inputs.text")
    path = write_flow(tmp_path, "ask.json", ASK)
    result = chatloom("chat", str(path), data=tmp_path, stdin="/restart\n yes \nignored\n")
    assert (result.returncode, result.stderr) == (0, "")
    hello = "bot> Hi you, 2 questions. Ready?\n     1) Yes\n     2) Not yet\nbot> Say something.\n"
    assert result.stdout.count(hello) == 2  # the start, and the restart
    assert result.stdout.endswith(hello + "bot> You said yes.\n— the conversation has ended —\n")
    quit_early = chatloom("chat", str(path), data=tmp_path, stdin="/quit\n1\n")
    assert quit_early.returncode == 0 and "You said" not in quit_early.stdout


def test_a_reply_timeout_moves_the_flow_on_while_the_chat_waits_for_a_line(tmp_path: Path) -> None:
    needs("nodes.inputs.text")
    flow = {
        "id": "slow",
        "name": "Slow",
        "start": "s",
        "nodes": [
            {"id": "s", "type": "flow.start"},
            {"id": "q", "type": "input.text", "settings": {"prompt": "Quick!", "save_as": "a", "timeout_minutes": 1}},
            {"id": "late", "type": "flow.end", "settings": {"message": "Too slow."}},
        ],
        "edges": [
            {"id": "a", "source": "s", "target": "q"},
            {"id": "b", "source": "q", "source_port": "timeout", "target": "late"},
        ],
    }
    path = write_flow(tmp_path, "slow.json", flow)
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatloom", "chat", str(path), "--json", "--fast"],
        cwd=ROOT,
        env=env_for(tmp_path),
        stdin=subprocess.PIPE,  # left open: the user never answers
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    guard = threading.Timer(60, proc.kill)
    guard.start()
    try:
        out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
        code = proc.wait()
    finally:
        guard.cancel()
        proc.stdin.close()  # type: ignore[union-attr]
    assert (code, err) == (0, "")
    assert lines_of(out) == [{"text": "Quick!"}, {"text": "Too slow."}]


def test_a_call_to_a_flow_that_is_not_in_the_folder_is_a_warning(tmp_path: Path) -> None:
    flow = {
        "id": "caller",
        "name": "Caller",
        "start": "s",
        "nodes": [
            {"id": "s", "type": "flow.start"},
            {"id": "c", "type": "flow.call", "settings": {"flow_id": "elsewhere"}},
            {"id": "e", "type": "flow.end", "settings": {"message": "Back."}},
        ],
        "edges": [{"id": "a", "source": "s", "target": "c"}, {"id": "b", "source": "c", "target": "e"}],
    }
    path = write_flow(tmp_path, "caller.json", flow)
    result = chatloom("chat", str(path), "--json", data=tmp_path, stdin="")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("chatloom: warning: node c of 'caller' runs the flow 'elsewhere', which is not in ")

"""`chatloom chat`: the terminal chat and its --json mode for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import TEMPLATES, chatloom

FLOW = {
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


def folder(tmp_path: Path) -> Path:
    (tmp_path / "coffee.json").write_text(json.dumps(FLOW))
    (tmp_path / "tip.json").write_text(json.dumps(TIP))
    (tmp_path / "notes.json").write_text('{"not": "a flow"}')  # ignored: the folder may hold other files
    return tmp_path / "coffee.json"


def test_json_mode_writes_one_object_per_bot_message(tmp_path: Path) -> None:
    path = folder(tmp_path)
    result = chatloom("chat", str(path), "--json", "--fast", "--user-id", "ann", data=tmp_path, stdin="2\n1,5\n")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {
            "text": "Coffee, ann?",
            "buttons": [{"title": "Espresso", "value": "esp"}, {"title": "Latte", "value": "Latte"}],
        },
        {"text": "Brewing…"},
        {"text": "Tip for the Latte?"},
        {"text": "Your Latte is ready. Tip: 1.5."},
    ]


def test_buttons_by_title_and_json_message_lines(tmp_path: Path) -> None:
    path = folder(tmp_path)
    stdin = 'espresso\n{"text": "two", "choice": null}\n3\n'
    result = chatloom("chat", str(path), "--json", "--fast", data=tmp_path, stdin=stdin)
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()][1:] == [
        "Brewing…",
        "Tip for the esp?",
        "Please answer with a number.",
        "Tip for the esp?",
        "Your esp is ready. Tip: 3.",
    ]


def test_interactive_mode_numbers_the_buttons(tmp_path: Path) -> None:
    result = chatloom("chat", str(TEMPLATES / "faq_menu.json"), data=tmp_path, stdin="1\n5\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bot> What would you like to know?\n     1) Opening hours\n     2) Prices" in out
    assert "bot> We're open Monday to Friday" in out
    assert "bot> Glad I could help. Have a nice day!" in out
    assert "the conversation has ended" in out


def test_variables_from_the_command_line(tmp_path: Path) -> None:
    result = chatloom(
        "chat", str(TEMPLATES / "nps_survey.json"), "--json", "--var", "segment=vip", data=tmp_path, stdin=""
    )
    assert result.returncode == 0 and json.loads(result.stdout.splitlines()[0])["buttons"][0]["title"] == "0"

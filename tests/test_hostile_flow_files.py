"""A flow file carrying the sandbox escape of issue 13 (finding 1) is refused by `chatloom validate`,
by import with publishing and by the runtime, naming the step and the field; the server's secrets
appear in none of the answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.document import flow_from_data
from flows.problems import FlowInvalid
from nodes.registry import Registry
from runtime.plan import compile_flow

ROOT = Path(__file__).resolve().parents[1]
ESCAPES = [
    "{{ str.format('{0.__class__.__mro__}', 1) }}",
    "{{ lipsum.__globals__.os.environ }}",
    "{{ cycler.__init__.__globals__.os.environ['CHATLOOM_SECRET_KEY'] }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
]
CANARY = "canary-secret-value-for-this-test"


def _flow(text: str) -> dict[str, object]:
    return {
        "id": "hostile",
        "name": "Hostile",
        "start": "s",
        "nodes": [
            {"id": "s", "type": "flow.start"},
            {"id": "hello", "type": "message.send", "settings": {"text": text}},
            {"id": "bye", "type": "flow.end"},
        ],
        "edges": [
            {"id": "a", "source": "s", "target": "hello"},
            {"id": "b", "source": "hello", "target": "bye"},
        ],
    }


def _chatloom(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHATLOOM_DATA": str(tmp_path / "data"), "CANARY": CANARY}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "chatloom", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("payload", ESCAPES[:1])
def test_validate_and_import_refuse_the_escape_naming_the_step(tmp_path: Path, payload: str) -> None:
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(_flow(f"Hi {payload}")))
    checked = _chatloom(tmp_path, "validate", str(path))
    assert checked.returncode == 1, checked.stdout
    assert "hello" in checked.stdout and "“Message”" in checked.stdout and "cannot be used" in checked.stdout
    published = _chatloom(tmp_path, "import", str(path), "--publish")
    assert published.returncode != 0
    for out in (checked.stdout + checked.stderr, published.stdout + published.stderr):
        assert CANARY not in out and "Traceback" not in out and "object at 0x" not in out


@pytest.mark.parametrize("payload", ESCAPES)
def test_the_runtime_will_not_compile_a_flow_that_holds_an_escape(payload: str) -> None:
    flow = flow_from_data(_flow(f"Hi {payload}"))
    with pytest.raises(FlowInvalid) as refused:
        compile_flow(flow, Registry.from_entry_points())
    assert any(p.node_id == "hello" and "cannot be used" in p.message for p in refused.value.problems)

"""Imports point one way: flows ← nodes ← runtime ← builder; the runtime runs headless."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["flows", "nodes", "runtime", "builder"]
HEAVY = ("nicegui", "litellm", "chromadb", "torch", "whisper", "faster_whisper")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_packages_import_only_the_layers_below_them() -> None:
    wrong = []
    for rank, package in enumerate(ORDER):
        allowed_up = set(ORDER[rank + 1 :])
        for path in (ROOT / package).rglob("*.py"):
            bad = imports(path) & (allowed_up | {"chatloom"})
            if bad:
                wrong.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert wrong == []


def test_nothing_below_the_builder_imports_nicegui_at_module_level() -> None:
    wrong = []
    for package in ORDER[:3]:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in tree.body:  # module level only: heavy libraries load lazily inside functions
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(n.split(".")[0] in HEAVY for n in names):
                    wrong.append(f"{path.relative_to(ROOT)}: {names}")
    assert wrong == []


def test_loading_every_node_and_the_runtime_imports_no_heavy_library() -> None:
    code = (
        "import sys, runtime.engine, runtime.plan; from nodes.registry import Registry; "
        "r = Registry.from_entry_points(); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"

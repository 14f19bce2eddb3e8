"""Start-up: what `chatloom --help` and the runtime server import, and how long that takes."""

from __future__ import annotations

import subprocess
import sys
import time

HEAVY = ("litellm", "chromadb", "torch", "whisper", "faster_whisper", "nicegui")
PROBE = (
    "import sys, time; t = time.perf_counter(); import {module}; d = time.perf_counter() - t; "
    "print(d); print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))))"
)


def _probe(module: str) -> tuple[float, list[str]]:
    best, heavy = float("inf"), []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(module=module, heavy=HEAVY)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        best = min(best, float(out[0]))
        heavy = [m for m in out[1].split(",") if m] if len(out) > 1 else []
    return best, heavy


def main() -> dict[str, object]:
    cli_s, cli_heavy = _probe("chatloom.cli")
    server_s, server_heavy = _probe("runtime.api")
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "chatloom", "--help"], capture_output=True, check=True)
    help_s = time.perf_counter() - began
    return {
        "cli_import_ms": cli_s * 1000,
        "help_ms": help_s * 1000,
        "server_import_ms": server_s * 1000,
        "heavy_imported": sorted(set(cli_heavy) | set(server_heavy)),
    }


if __name__ == "__main__":
    print(main())

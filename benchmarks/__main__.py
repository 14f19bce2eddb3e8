"""Run every benchmark and print each figure beside its goal: `python -m benchmarks [--readme]`.

Figures are ratios or times measured in this one run; nothing here is asserted by the tests.
With --readme, the table between the bench markers in README.md is replaced.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

from benchmarks import bench_interpreter, bench_startup, bench_turn, bench_validate

README = Path(__file__).resolve().parents[1] / "README.md"


def rows() -> list[tuple[str, str, str, str]]:
    out = []
    interp = bench_interpreter.main()
    out.append(
        (
            "Interpreter, 10-node turn: what walking the graph adds to the nodes' own work",
            f"{interp['overhead_per_node_us']:.2f} µs a node ({interp['turn_us']:.1f} µs a turn in all, "
            f"{interp['per_node_us']:.2f} µs a node with the nodes' work)",
            "under 1 µs a node",
            "met" if interp["overhead_per_node_us"] < 1 else "missed",
        )
    )
    out.append(
        (
            "… against the same node functions called in a row, no graph walk",
            f"{interp['direct_ratio']:.1f}× ({interp['direct_us']:.1f} µs)",
            "at most 3×",
            "met" if interp["direct_ratio"] <= 3 else "missed",
        )
    )
    out.append(
        (
            "… against the same logic hand-written inline (no node calls)",
            f"{interp['ratio']:.1f}× ({interp['plain_us']:.2f} µs)",
            "at most 3×",
            "met" if interp["ratio"] <= 3 else "missed",
        )
    )
    turn = bench_turn.main()
    out.append(
        (
            "Full turn saved (SQLite WAL) against a bare upsert of the state row",
            f"{turn['ratio']:.2f} ({turn['turns_per_s']:.0f} turns/s against {turn['upserts_per_s']:.0f} upserts/s)",
            "at least 0.5",
            "met" if turn["ratio"] >= 0.5 else "missed",
        )
    )
    val = bench_validate.main()
    out.append(
        (
            f"Validation of a {val['nodes']:.0f}-node flow",
            f"{val['ms']:.1f} ms",
            "under 20 ms",
            "met" if val["ms"] < 20 else "missed",
        )
    )
    start = bench_startup.main()
    heavy = start["heavy_imported"]
    out.append(
        (
            "Start-up: `chatloom --help` / importing the runtime server",
            f"{start['help_ms']:.0f} ms / {start['server_import_ms']:.0f} ms; heavy libraries imported: "
            f"{', '.join(heavy) if heavy else 'none'}",  # type: ignore[arg-type]
            "no litellm, chromadb or torch",
            "met" if not heavy else "missed",
        )
    )
    return out


def table(found: list[tuple[str, str, str, str]]) -> str:
    lines = ["| benchmark | measured | goal | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in found]
    return "\n".join(lines)


def main() -> None:
    logging.disable(logging.WARNING)
    text = table(rows())
    print(text)
    if "--readme" in sys.argv:
        readme = README.read_text()
        pattern = re.compile(r"(<!-- bench:start -->\n).*?(\n<!-- bench:end -->)", re.DOTALL)
        README.write_text(pattern.sub(lambda m: m.group(1) + text + m.group(2), readme))


if __name__ == "__main__":
    main()

"""The canvas benchmark runs end to end on a small flow and returns every figure (no timing is asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_canvas
from flows.document import parse_flow
from flows.validate import validate
from nodes.registry import Registry


def test_the_generated_flow_is_valid() -> None:
    flow = parse_flow(json.dumps(bench_canvas.flow_document(50)))
    assert len(flow.nodes) == 50
    assert not [p for p in validate(flow, Registry.from_entry_points()) if p.severity == "error"]


def test_a_small_run_returns_every_figure() -> None:
    reason = bench_canvas.missing()
    if reason:
        pytest.skip(reason)
    result = bench_canvas.main(sizes=(20,), loads=1, clicks=3, seconds=0.5)
    assert set(result) == {"baseline", "sizes", "errors"}
    assert all(result["baseline"][k] > 0 for k in ("list_ms", "idle_frame_p50_ms", "idle_frame_p95_ms"))
    figures = result["sizes"][20]
    for key in ("tti_ms", "drawn_ms", "tti_ratio", "drag_p50_ms", "drag_p95_ms", "pan_p50_ms", "pan_p95_ms"):
        assert figures[key] > 0, key
    assert figures["rendered"] == 20
    assert figures["drag_moved_px"] > 0
    assert figures["pan_moved_px"] > 0
    assert figures["round_trip_missed"] < 3
    assert figures["round_trip_p50_ms"] > 0
    assert not result["errors"]

"""The memory benchmark runs end to end on a tiny size and returns every figure (no timing is asserted)."""

from __future__ import annotations

from benchmarks import bench_memory


def test_a_small_run_returns_every_figure() -> None:
    result = bench_memory.main(sizes=(300,), per_user=30, queries=12)
    assert result["embeddings_per_s"] > 0
    figures = result["sizes"][300]
    assert figures["users"] == 10
    for key in ("p50_ms", "p95_ms", "where_p50_ms", "where_p95_ms", "fill_s"):
        assert figures[key] > 0, key

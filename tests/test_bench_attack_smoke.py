"""The hostile-flow benchmark runs end to end on a small load and returns every figure (no timing is asserted)."""

from __future__ import annotations

from benchmarks import bench_attack


def test_a_small_run_returns_every_figure_and_nothing_hostile_was_published() -> None:
    result = bench_attack.main(rounds=1, conversations=4)
    assert result["refused_at_validation"] == 1.0  # `'x' | center(200000000)` never reaches a server
    assert result["attack_messages"] >= 4
    figures = (
        "worst_alone_p95_ms",
        "health_attack_p99_ms",
        "paced_health_attack_p99_ms",
        "rss_before_mb",
        "rss_after_mb",
    )
    for key in figures:
        assert result[key] > 0, key

"""The LLM benchmark runs end to end with one round and returns every figure (no timing is asserted)."""

from __future__ import annotations

from benchmarks import bench_llm


def test_a_small_run_returns_every_figure() -> None:
    result = bench_llm.main(rounds=1)
    assert set(result) == {"direct_tokens_per_s", "gateway_tokens_per_s", "gateway_ratio", "router_ms"}
    assert all(value > 0 for value in result.values())

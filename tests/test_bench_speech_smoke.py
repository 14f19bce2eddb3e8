"""The speech benchmark runs end to end on a short sentence and returns every figure (no timing is asserted)."""

from __future__ import annotations

from benchmarks import bench_speech


def test_a_small_run_returns_every_figure() -> None:
    result = bench_speech.main(text="Hello there, how are you today?", repeats=1)
    assert set(result) == {"audio_s", "tiny_en_rtf", "base_rtf", "piper_rtf"}
    assert all(value > 0 for value in result.values())

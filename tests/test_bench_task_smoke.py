"""The task benchmark builds the README's lead-capture flow through the builder, and the flow really is
built: read back from the server's data folder (no timing is asserted). When the UI changes so that a
person's steps no longer work, this fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench_canvas, bench_task


def test_the_current_builder_builds_tests_and_publishes_the_lead_capture_flow(tmp_path: Path) -> None:
    reason = bench_canvas.missing()
    if reason:
        pytest.skip(reason)
    result = bench_task.main(data=tmp_path / "data")

    saved = result["saved"]
    types = saved["nodes"]
    assert sorted(types.values()) == ["flow.end", "flow.start", "input.email", "message.send"]
    by_type = {t: node_id for node_id, t in types.items()}
    start, send, email, end = (by_type[t] for t in ("flow.start", "message.send", "input.email", "flow.end"))
    assert saved["edges"] == sorted([(start, "out", send), (send, "out", email), (email, "valid", end)])
    settings = saved["settings"]
    assert settings[send]["text"] == bench_task.MESSAGE
    assert settings[email]["prompt"] == bench_task.QUESTION
    assert settings[email]["save_as"] == bench_task.VARIABLE
    assert settings[end]["message"] == bench_task.CLOSING
    assert saved["versions"] == [1]
    # the test chat went through the conversation to the closing message
    assert result["replies"] == [reply for _, reply in bench_task.ANSWERS]
    assert not result["errors"]

    counts = result["counts"]
    assert set(counts) == set(bench_task.KINDS)
    assert counts["drag"] == 6  # three steps dragged in, three connections drawn
    assert counts["type"] == 1 + 4 + len(bench_task.ANSWERS)  # the name, four settings, the answers
    assert result["actions"] == sum(counts.values()) == len(result["actions_log"])
    assert result["wall_s"] > result["waited_s"] > 0

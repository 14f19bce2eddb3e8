"""The suite's time budget (tests/suite_clock.py): a run over it fails with a sentence saying so."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_tiny="def test_quick():\n    assert 1 + 1 == 2\n")
    return pytester


def _run(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, budget: str, *args: str) -> pytest.RunResult:
    monkeypatch.setenv("CHATLOOM_SUITE_BUDGET", budget)
    return suite.runpytest_subprocess("-p", "tests.suite_clock", *args)


def test_a_run_within_its_budget_passes(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(suite, monkeypatch, "600")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.no_fnmatch_line("*over its time budget*")


def test_a_run_over_its_budget_fails_and_says_why(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(suite, monkeypatch, "0")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*suite over its time budget*", "*over its budget of 0.0*--durations*"])


def test_the_budget_counts_the_whole_run_on_both_workers(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(suite, monkeypatch, "0", "-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*suite over its time budget*"])


def test_a_wrong_budget_is_refused_in_words(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(suite, monkeypatch, "fifteen minutes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*CHATLOOM_SUITE_BUDGET must be a number of seconds*"])

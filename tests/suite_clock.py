"""The suite's time budget: a pytest run that takes longer than CHATLOOM_SUITE_BUDGET seconds
(15 minutes unless set) fails, so a slow addition is seen the day it lands, not when CI runs out.

It measures the whole run in the process that started it (the controller under pytest-xdist),
from the start of the session to its end, and says which tests took longest."""

from __future__ import annotations

import os
import time

import pytest

DEFAULT_BUDGET_SECONDS = 15 * 60
_STARTED = pytest.StashKey[float]()


def budget_seconds() -> float:
    raw = os.environ.get("CHATLOOM_SUITE_BUDGET", "")
    try:
        return float(raw) if raw else DEFAULT_BUDGET_SECONDS
    except ValueError:
        raise pytest.UsageError(f"CHATLOOM_SUITE_BUDGET must be a number of seconds, not {raw!r}") from None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    budget_seconds()  # a wrong setting stops the run before any test, in words


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STARTED] = time.monotonic()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _is_worker(config) or _STARTED not in config.stash:
        return
    elapsed = time.monotonic() - config.stash[_STARTED]
    budget = budget_seconds()
    if elapsed <= budget or exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    message = (
        f"The test suite took {elapsed / 60:.1f} minutes, over its budget of {budget / 60:.1f} "
        "(CHATLOOM_SUITE_BUDGET). Find the slow tests with --durations=20 and make them faster."
    )
    if reporter is not None:
        reporter.write_sep("=", "suite over its time budget", red=True)
        reporter.write_line(message)
    else:
        print(message)

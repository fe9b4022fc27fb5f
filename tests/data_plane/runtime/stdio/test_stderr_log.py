"""A stdio server's stderr in the data plane's log: debug level, a bounded number of lines per window."""

from __future__ import annotations

import pytest

from data_plane.runtime.stdio.process import StderrLog


def test_stderr_lines_beyond_the_window_budget_are_counted_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="data_plane.runtime.stdio.process")
    now = [0.0]
    log = StderrLog("stdio py#1[42]", limit=3, window=10, clock=lambda: now[0])
    for n in range(5):
        log.line(f"line {n}")
    now[0] = 10.0
    log.line("next window")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "stdio py#1[42] stderr: line 0",
        "stdio py#1[42] stderr: line 1",
        "stdio py#1[42] stderr: line 2",
        "stdio py#1[42] stderr: 2 lines not logged (rate limit)",
        "stdio py#1[42] stderr: next window",
    ]
    assert {r.levelname for r in caplog.records} == {"DEBUG"}


def test_a_long_stderr_line_is_truncated(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="data_plane.runtime.stdio.process")
    StderrLog("p").line("x" * 10_000)
    assert len(caplog.records[0].getMessage()) < 600

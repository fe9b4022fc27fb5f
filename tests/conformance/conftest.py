"""Print the conformance tables at the end of every test run that produced them."""

from __future__ import annotations

import pytest

from tests.conformance import report
from tests.conformance.report import RESULTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The per-scenario table of each era, direct vs through the gateway (captured output is not shown)."""
    results = config.stash.get(RESULTS, [])
    if results:
        terminalreporter.section("MCP conformance: direct vs through the gateway")
        for result in results:
            terminalreporter.write_line(report.console_table(result) + "\n")

"""Conformance results as text: the per-scenario table printed by the test run and ``docs/conformance.md``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.conformance.suite import Era, Run, Scenario

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"
NOTES = {
    "server-sse-polling": "the suite sends this scenario's call with `MCP-Protocol-Version: 2025-03-26`, "
    "and the SDK sends the SSE priming event (with `retry`) only to clients of 2025-11-25 or later, "
    "which can parse an event with empty data",
    "tasks-": "the tasks extension (`io.modelcontextprotocol/tasks`) is optional (SEP-1730) and neither "
    "the Python SDK we use nor our target implements it",
}
MARK = {"pass": "pass", "warn": "pass (warnings)", "fail": "**fail**", "": "not run"}


@dataclass(frozen=True, slots=True)
class EraResult:
    """The same era's suite run directly against the target and through the gateway."""

    era: Era
    direct: Run
    gateway: Run

    def names(self) -> list[str]:
        """Every scenario either run reported (by name)."""
        return list(dict.fromkeys([*self.direct.scenarios, *self.gateway.scenarios]))

    def lost(self) -> list[str]:
        """Scenarios whose verdict through the gateway is worse than the direct one.

        A timing-sensitive scenario (``server-sse-polling``) can warn on one run and pass on the
        other when the machine is loaded; the gateway doing better is not a loss.
        """
        return [
            name
            for name in self.names()
            if _RANK[_verdict(self.gateway, name)] < _RANK[_verdict(self.direct, name)]
        ]

    def lost_checks(self) -> dict[str, list[str]]:
        """Per scenario, the checks that succeed directly but not (as often) through the gateway."""
        lost: dict[str, list[str]] = {}
        for name, scenario in self.direct.scenarios.items():
            through = self.gateway.scenarios.get(name)
            missing = scenario.succeeded() - (through.succeeded() if through else Counter())
            if missing:
                lost[name] = sorted(missing)
        return lost


_RANK = {"": 0, "fail": 1, "warn": 2, "pass": 3}


def _verdict(run: Run, name: str) -> str:
    scenario = run.scenarios.get(name)
    return scenario.verdict if scenario is not None else ""


def _checks(scenario: Scenario | None) -> str:
    if scenario is None:
        return "-"
    return f"{scenario.count('SUCCESS')}/{len([c for c in scenario.checks if c.status != 'INFO'])}"


def _score(run: Run, scored: Sequence[str]) -> str:
    passing = sum(1 for name in scored if _verdict(run, name) in ("pass", "warn"))
    return f"{passing}/{len(scored)}"


def scored_names(result: EraResult) -> list[str]:
    """The scenarios that count toward the era's score (not extensions or pending ones)."""
    skipped = result.era.not_scored()
    return [name for name in result.names() if name not in skipped]


def console_table(result: EraResult) -> str:
    """A plain per-scenario table for the test log."""
    scored = scored_names(result)
    lines = [
        f"{result.era.title} [{result.era.package} {result.era.version}]",
        f"score (scenarios passing, scored): direct {_score(result.direct, scored)}, "
        f"gateway {_score(result.gateway, scored)}",
        f"{'scenario':48} {'direct':18} {'gateway':18}",
    ]
    for name in result.names():
        direct, gateway = result.direct.scenarios.get(name), result.gateway.scenarios.get(name)
        suffix = "" if name in scored else f"  (not scored: {result.era.not_scored()[name]})"
        lines.append(
            f"{name:48} {_verdict(result.direct, name) + ' ' + _checks(direct):18} "
            f"{_verdict(result.gateway, name) + ' ' + _checks(gateway):18}{suffix}"
        )
    return "\n".join(lines)


def _era_section(result: EraResult) -> list[str]:
    era, scored = result.era, scored_names(result)
    reasons = era.not_scored()
    lines = [
        f"## {era.title}",
        "",
        f"Suite: `@modelcontextprotocol/conformance@{era.version}`, `server {' '.join(era.arguments)}`.",
        "",
        f"**Score** (scored scenarios passing): direct **{_score(result.direct, scored)}**, "
        f"through the gateway **{_score(result.gateway, scored)}**.",
        "",
        "| scenario | direct | checks | gateway | checks |",
        "|---|---|---|---|---|",
    ]
    for name in result.names():
        direct, gateway = result.direct.scenarios.get(name), result.gateway.scenarios.get(name)
        label = f"`{name}`" if name in scored else f"`{name}` (not scored: {reasons[name]})"
        lines.append(
            f"| {label} | {MARK[_verdict(result.direct, name)]} | {_checks(direct)} "
            f"| {MARK[_verdict(result.gateway, name)]} | {_checks(gateway)} |"
        )
    failing = [s for s in result.direct.scenarios.values() if s.verdict != "pass"]
    if failing:
        lines += ["", "What fails or warns directly, and why:", ""]
        notes = [
            (prefix, note)
            for prefix, note in NOTES.items()
            if any(s.name.startswith(prefix) for s in failing)
        ]
        lines += [f"- `{prefix}{'*' if prefix.endswith('-') else ''}`: {note}." for prefix, note in notes]
        for scenario in failing:
            for check in scenario.failures():
                message = check.message.replace("|", "\\|").replace("\n", " ")
                lines.append(f"- `{scenario.name}` / `{check.id}` ({check.status.lower()}): {message}")
    return [*lines, ""]


def render(results: Sequence[EraResult]) -> str:
    """``docs/conformance.md`` from one test run's results."""
    lines = [
        "# MCP conformance",
        "",
        "The official MCP conformance suite ([`@modelcontextprotocol/conformance`]"
        "(https://www.npmjs.com/package/@modelcontextprotocol/conformance)) run against our target",
        "server (`tests/servers/conformance_server.py`, official Python SDK) directly, and through the",
        "gateway (control plane and data plane processes, the target registered as an upstream, the",
        "suite authenticated with an agent key). `tests/conformance/test_conformance.py` runs it in",
        "`make test`, prints these tables and rewrites this page; it fails when a scenario's verdict",
        "through the gateway differs from the direct one, or when a check that succeeds directly does",
        "not through the gateway. Verdicts: *fail* when any check fails, *pass (warnings)* when only",
        "SHOULD-level checks warn. Checks: succeeded / run (informational checks not counted).",
        "",
        "The suite cannot send an `Authorization` header and the gateway serves no server without a",
        "credential, so for the gateway runs the suite's Node process preloads",
        "`tests/conformance/bearer.mjs`, which adds the agent key to every request it makes.",
        "",
        f"Target built on the official MCP Python SDK `mcp` {version('mcp')}.",
        "",
        "| run | suite | direct | through the gateway |",
        "|---|---|---|---|",
    ]
    for result in results:
        scored = scored_names(result)
        lines.append(
            f"| {result.era.title} | {result.era.version} | {_score(result.direct, scored)} "
            f"| {_score(result.gateway, scored)} |"
        )
    lines.append("")
    for result in results:
        lines += _era_section(result)
    return "\n".join(lines).rstrip() + "\n"


RESULTS = pytest.StashKey[list[EraResult]]()
"""Where the test run keeps its results for ``conftest.pytest_terminal_summary`` to print."""

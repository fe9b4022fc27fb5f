"""The official MCP conformance suite (npm ``@modelcontextprotocol/conformance``), run and read.

``tests/conformance/package.json`` pins two releases and the Node they need (>= 22, shipped on
npm as the ``node`` package; the machine's own Node may be older): the stable release, whose
server scenarios are the handshake era (run at 2025-11-25), and the pre-release, run with
``--requirements 2026-07-28`` (the stateless 2026-07-28 era) and ``--requirements 2025-11-25``
(the handshake era's newer checks, such as the session lifecycle). ``npm ci`` runs once when
``node_modules`` is missing. Each run writes one ``checks.json`` per scenario; this
module reads them into verdicts.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

SUITE_DIR = Path(__file__).resolve().parent
NODE = SUITE_DIR / "node_modules" / ".bin" / "node"
BEARER_PRELOAD = SUITE_DIR / "bearer.mjs"
RUN_TIMEOUT = 180.0
RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")


@dataclass(frozen=True, slots=True)
class Era:
    """One protocol era and the suite release and arguments that test it."""

    key: str
    title: str
    package: str
    arguments: tuple[str, ...]

    @property
    def entry(self) -> Path:
        return SUITE_DIR / "node_modules" / self.package / "dist" / "index.js"

    @property
    def version(self) -> str:
        manifest = json.loads((SUITE_DIR / "node_modules" / self.package / "package.json").read_text())
        return str(manifest["version"])

    def not_scored(self) -> dict[str, str]:
        """Scenarios the era's requirement set runs without scoring, with the suite's reason."""
        requirements = SUITE_DIR / "node_modules" / self.package / "requirements" / f"{self.key}.yaml"
        if "--requirements" not in self.arguments or not requirements.exists():
            return {}
        entries = yaml.safe_load(requirements.read_text()).get("not_scored") or []
        return {e["scenario"]: e["reason"] for e in entries if e.get("leg") == "server"}


LEGACY = Era(
    key="stable",
    title="Handshake era (2025-11-25 wire): stable release, every server scenario",
    package="conformance-stable",
    arguments=("--suite", "all"),
)
LEGACY_NEXT = Era(
    key="2025-11-25",
    title="Handshake era (2025-11-25 wire): pre-release, the 2025-11-25 requirement set",
    package="conformance-next",
    arguments=("--requirements", "2025-11-25"),
)
MODERN = Era(
    key="2026-07-28",
    title="2026-07-28 (stateless): pre-release, the 2026-07-28 requirement set",
    package="conformance-next",
    arguments=("--requirements", "2026-07-28"),
)
ERAS = (LEGACY, LEGACY_NEXT, MODERN)


@dataclass(frozen=True, slots=True)
class Check:
    """One check of a scenario, as the suite reported it."""

    id: str
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario's checks and its verdict."""

    name: str
    checks: tuple[Check, ...]

    def count(self, status: str) -> int:
        return sum(1 for check in self.checks if check.status == status)

    @property
    def verdict(self) -> str:
        """``fail`` with any failed check, else ``warn`` with any warning, else ``pass``."""
        if self.count("FAILURE"):
            return "fail"
        return "warn" if self.count("WARNING") else "pass"

    def succeeded(self) -> Counter[str]:
        """How many times each check id succeeded (some scenarios repeat a check per case)."""
        return Counter(check.id for check in self.checks if check.status == "SUCCESS")

    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.status in ("FAILURE", "WARNING")]


@dataclass(frozen=True, slots=True)
class Run:
    """One run of the suite against one URL."""

    era: Era
    target: str
    scenarios: dict[str, Scenario] = field(default_factory=dict)

    def passing(self) -> int:
        return sum(1 for s in self.scenarios.values() if s.verdict != "fail")


def ensure_installed() -> None:
    """Install the pinned suite releases and Node from the lock file, once."""
    if all(era.entry.exists() for era in ERAS) and NODE.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install the MCP conformance suite (tests/conformance)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=SUITE_DIR, check=True, timeout=600)


def read_results(era: Era, target: str, out_dir: Path) -> Run:
    """The scenarios of one run, from the ``checks.json`` files the suite wrote."""
    scenarios: dict[str, Scenario] = {}
    for directory in sorted(out_dir.iterdir()):
        match = RESULT_DIR.match(directory.name)
        checks_file = directory / "checks.json"
        if match is None or not checks_file.exists():
            continue
        raw: list[dict[str, Any]] = json.loads(checks_file.read_text())
        checks = tuple(
            Check(id=str(c["id"]), status=str(c["status"]), message=str(c.get("errorMessage") or ""))
            for c in raw
        )
        scenarios[match["scenario"]] = Scenario(name=match["scenario"], checks=checks)
    return Run(era=era, target=target, scenarios=scenarios)


async def run_suite(era: Era, url: str, out_dir: Path, *, target: str, bearer: str | None = None) -> Run:
    """Run ``era``'s server scenarios against ``url``; ``bearer`` is sent as Authorization.

    The suite's exit code says whether everything passed; failing scenarios are the data here,
    so only a run that wrote no results at all is an error.
    """
    env = {**os.environ}
    args = [str(NODE)]
    if bearer is not None:
        env["MCPGW_CONFORMANCE_BEARER"] = bearer
        args += ["--import", BEARER_PRELOAD.as_uri()]
    args += [str(era.entry), "server", "--url", url, "--output-dir", str(out_dir), *era.arguments]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=SUITE_DIR, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=RUN_TIMEOUT)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = read_results(era, target, out_dir)
    if not run.scenarios:
        raise AssertionError(f"the conformance suite wrote no results:\n{output.decode(errors='replace')}")
    return run

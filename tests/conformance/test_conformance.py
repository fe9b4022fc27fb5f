"""The official MCP conformance suite, directly against our target server and through the gateway.

Two fresh target processes (``tests/servers/conformance_server.py``): one the suite reaches
directly, one registered as the gateway's upstream ``py`` (control plane and data plane
processes, SQLite). Each era's suite runs against both; the gateway must reach the same verdict
on every scenario and lose no check that succeeds directly. The run prints the per-scenario table
and rewrites ``docs/conformance.md``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conformance import report
from tests.conformance.report import RESULTS, EraResult
from tests.conformance.suite import ERAS, LEGACY, LEGACY_NEXT, MODERN, Era, ensure_installed, run_suite
from tests.conftest import free_port
from tests.e2e.gateway import Gateway
from tests.e2e.processes import Child, eventually, http_ok

pytestmark = pytest.mark.e2e


def start_target(tmp: Path, name: str, port: int) -> Child:
    """A conformance target process on ``port`` (started, not yet waited for)."""
    child = Child(name, ["-m", "tests.servers.conformance_server", "--port", str(port)], tmp / f"{name}.log")
    return child.start()


def wait_listening(child: Child, port: int) -> None:
    child.wait_until(http_ok(f"http://127.0.0.1:{port}/mcp", any_status=True), what="listening")


def key_works(gateway: Gateway, secret: str) -> bool:
    """The data plane already holds the snapshot with this key (anything but 401)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json, text/event-stream"}
    return httpx.post(gateway.mcp_url("py"), json=body, headers=headers, timeout=5).status_code != 401


@pytest.fixture(scope="module")
def results(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, EraResult]]:
    """Every era's suite run directly and through the gateway, once for the module."""
    ensure_installed()
    tmp = tmp_path_factory.mktemp("conformance")
    gateway = Gateway(tmp=tmp, database_url=f"sqlite:///{tmp / 'cp.db'}")
    direct_port = free_port()
    try:
        # The targets start while the control plane does; both must listen before registration.
        targets = {
            direct_port: start_target(tmp / "logs", "target-direct", direct_port),
            gateway.upstream_port: start_target(tmp / "logs", "upstream", gateway.upstream_port),
        }
        gateway.children.extend(targets.values())
        gateway.start_control_plane()
        for port, child in targets.items():
            wait_listening(child, port)
        gateway.start_data_plane()
        gateway.register_upstream(headers={})
        key = gateway.admin_ok(
            "POST", "/keys", json={"name": "suite", "workspace": "demo", "servers": ["py"]}
        )
        eventually(
            lambda: key_works(gateway, key["secret"]), seconds=10, what="key accepted by the data plane"
        )

        async def both(era: Era) -> EraResult:
            # Each target serves one run at a time, so the two runs may overlap.
            direct, through = await asyncio.gather(
                run_suite(
                    era, f"http://127.0.0.1:{direct_port}/mcp", tmp / era.key / "direct", target="direct"
                ),
                run_suite(
                    era,
                    gateway.mcp_url("py"),
                    tmp / era.key / "gateway",
                    target="gateway",
                    bearer=key["secret"],
                ),
            )
            return EraResult(era=era, direct=direct, gateway=through)

        outcome = {era.key: asyncio.run(both(era)) for era in ERAS}
        request.config.stash[RESULTS] = list(outcome.values())
        report.DOC.write_text(report.render(list(outcome.values())))
        yield outcome
    except BaseException:
        print(gateway.logs())
        raise
    finally:
        gateway.stop()


def assert_gateway_loses_nothing(result: EraResult) -> None:
    assert result.direct.scenarios, "the suite ran no scenario"
    assert result.lost() == [], report.console_table(result)
    assert result.lost_checks() == {}, report.console_table(result)


def test_gateway_reaches_the_direct_verdict_on_every_handshake_era_scenario(
    results: dict[str, EraResult],
) -> None:
    assert_gateway_loses_nothing(results[LEGACY.key])


def test_gateway_reaches_the_direct_verdict_on_every_2025_11_25_requirement(
    results: dict[str, EraResult],
) -> None:
    assert_gateway_loses_nothing(results[LEGACY_NEXT.key])


def test_gateway_reaches_the_direct_verdict_on_every_2026_07_28_scenario(
    results: dict[str, EraResult],
) -> None:
    assert_gateway_loses_nothing(results[MODERN.key])


def test_target_passes_every_scored_scenario_directly(results: dict[str, EraResult]) -> None:
    """The target implements what each scored scenario expects, so the comparison means something."""
    for result in results.values():
        failing = [
            name for name in report.scored_names(result) if result.direct.scenarios[name].verdict == "fail"
        ]
        assert failing == [], report.console_table(result)

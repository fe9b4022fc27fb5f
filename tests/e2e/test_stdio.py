"""End to end: a stdio server registered through the admin API, called through the gateway.

Real processes: the control plane launches the official-SDK stdio test server to discover its
tools; the data plane (``MCPGW_DP_ALLOW_STDIO=true``) launches it again in its pool; the
official MCP client calls it through ``/{slug}/mcp`` with a gateway key.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.gateway import Gateway
from tests.e2e.processes import REPO, eventually

pytestmark = pytest.mark.e2e

ENV_SECRET = "e2e-stdio-env-secret-31d7"
CANARY = "MCPGW_DP_E2E_CANARY"


@pytest.fixture
def stdio_gateway(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    """Control plane and a data plane that runs stdio servers (and holds a canary variable)."""
    monkeypatch.setenv("MCPGW_DP_ALLOW_STDIO", "true")
    monkeypatch.setenv(CANARY, "the data plane's own secret")
    gw = Gateway(tmp=tmp_path, database_url=database_url)
    try:
        gw.start_control_plane()
        gw.start_data_plane()
        yield gw
    except BaseException:
        print(gw.logs())
        raise
    finally:
        gw.stop()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_stdio_server_registered_through_the_admin_api_serves_through_the_gateway(
    stdio_gateway: Gateway, mode: str
) -> None:
    gateway = stdio_gateway
    gateway.admin_ok("POST", "/workspaces", json={"slug": "demo"})
    created = gateway.admin_ok(
        "POST",
        "/servers",
        json={
            "slug": "st",
            "workspace": "demo",
            "transport": "stdio",
            "command": sys.executable,
            "args": [str(REPO / "tests" / "servers" / "stdio_server.py")],
            "env": {"API_TOKEN": ENV_SECRET},
            "max_processes": 2,
        },
    )
    assert created["discovery_error"] == ""
    key = gateway.admin_ok("POST", "/keys", json={"name": "agent", "workspace": "demo", "servers": ["st"]})
    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    eventually(
        lambda: (
            httpx.post(
                gateway.mcp_url("st"),
                json=ping,
                headers={"Authorization": f"Bearer {key['secret']}"},
                timeout=5,
            ).status_code
            != 404
        ),
        seconds=15,
        what="the stdio server is served",
    )

    async with gateway.mcp_client("st", key["secret"], mode=mode) as client:
        tools = await client.list_tools()
        echoed = await client.call_tool("echo", {"text": "over stdio"})
        names = (await client.call_tool("env_keys", {})).structured_content
        token = await client.call_tool("env_value", {"name": "API_TOKEN"})

    assert {"echo", "env_keys"} <= {tool.name for tool in tools.tools}
    assert echoed.content[0].text == "over stdio"  # type: ignore[union-attr]
    assert names == {"result": ["API_TOKEN", "HOME", "LANG", "PATH"]}
    assert token.content[0].text == ENV_SECRET  # type: ignore[union-attr]
    persisted = (gateway.dp_state / "last-good.jws").read_text()
    assert (
        ENV_SECRET not in persisted
        and ENV_SECRET not in (gateway.tmp / "logs" / "data-plane.log").read_text()
    )

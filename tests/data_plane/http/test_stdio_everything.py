"""The reference MCP server (``@modelcontextprotocol/server-everything``, TypeScript SDK) over stdio.

The data plane launches it as operators do, ``npx mcp-server-everything stdio`` (offline, from
``tests/servers/everything/node_modules``; ``npm ci`` runs once when that is missing). Outside
CI, an unreachable npm registry skips these tests loudly; under ``CI=true`` they must run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.data_plane.dpkit import RunningDataPlane
from tests.data_plane.kit import NARROW, WIDE, KeyPair
from tests.data_plane.stdio_kit import running_stdio_data_plane

EVERYTHING_DIR = Path(__file__).resolve().parents[2] / "servers" / "everything"
CANARY = "MCPGW_DP_TEST_CANARY"


def _installed() -> str | None:
    """``npx`` once the server is installed; ``None`` (after a loud skip) when it cannot be."""
    npx, npm = shutil.which("npx"), shutil.which("npm")
    if (EVERYTHING_DIR / "node_modules" / ".bin" / "mcp-server-everything").exists() and npx:
        return npx
    problem = "node, npm and npx are needed" if not (npm and npx) else ""
    if not problem:
        done = subprocess.run(
            [npm or "npm", "ci", "--no-audit", "--no-fund"],
            cwd=EVERYTHING_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode == 0:
            return npx
        problem = f"npm ci failed: {done.stderr[-500:]}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"server-everything could not be installed (CI=true: it must run): {problem}")
    pytest.skip(f"LOUD SKIP (not in CI): server-everything could not be installed: {problem}")
    return None


@pytest.fixture
async def everything(
    keys: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningDataPlane]:
    npx = _installed()
    monkeypatch.setenv(CANARY, "data-plane-secret")
    async with running_stdio_data_plane(
        keys,
        tmp_path,
        command=npx,
        args=["--offline", "mcp-server-everything", "stdio"],
        cwd=str(EVERYTHING_DIR),
        env={"EVERYTHING_TOKEN": "configured"},
    ) as dp:
        yield dp


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_reference_server_over_stdio_answers_through_the_gateway(
    everything: RunningDataPlane, mode: str
) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {WIDE}"}, timeout=60) as http:
        transport = streamable_http_client(everything.mcp_url(), http_client=http)
        async with Client(transport, mode=mode) as client:
            tools = await client.list_tools()
            echoed = await client.call_tool("echo", {"message": "hi"})
            summed = await client.call_tool("get-sum", {"a": 2, "b": 40})
            env = await client.call_tool("get-env", {})
    assert {"echo", "get-sum", "get-env"} <= {tool.name for tool in tools.tools}
    assert echoed.content[0] == mcp_types.TextContent(type="text", text="Echo: hi")
    assert "42" in str(summed.model_dump())
    first = env.content[0]
    assert isinstance(first, mcp_types.TextContent)
    environment = json.loads(first.text)
    assert environment["EVERYTHING_TOKEN"] == "configured"
    assert CANARY not in environment
    assert not [name for name in environment if name.startswith("MCPGW_")]


# --- tasks (2025-11-25): the official Python client offers no task API, so these are raw JSON-RPC.

ACCEPT = "application/json, text/event-stream"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def rpc(
    http: httpx.AsyncClient, url: str, key: str, body: dict[str, Any], session: str = ""
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """POST one message; the response and every JSON-RPC message it carried (JSON or SSE)."""
    headers = {"Authorization": f"Bearer {key}", "Accept": ACCEPT, "MCP-Protocol-Version": "2025-11-25"}
    if session:
        headers["Mcp-Session-Id"] = session
    response = await http.post(url, json=body, headers=headers)
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        lines = response.text.splitlines()
        return response, [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    return response, [response.json()] if response.content else []


async def answer(
    http: httpx.AsyncClient, url: str, key: str, session: str, n: int, method: str, params: Any
) -> Any:
    """The JSON-RPC response to request ``n``."""
    _, messages = await rpc(
        http, url, key, {"jsonrpc": "2.0", "id": n, "method": method, "params": params}, session
    )
    (response,) = [m for m in messages if m.get("id") == n and "method" not in m]
    return response


async def open_session(http: httpx.AsyncClient, url: str, key: str) -> tuple[str, dict[str, Any]]:
    init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    response, messages = await rpc(
        http, url, key, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init}
    )
    session = response.headers["mcp-session-id"]
    await rpc(http, url, key, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    return session, messages[-1]["result"]


async def test_a_task_is_reached_only_by_the_caller_that_created_it(everything: RunningDataPlane) -> None:
    url = everything.mcp_url()
    call = {"name": "simulate-research-query", "arguments": {"topic": "gateways"}, "task": {"ttl": 60000}}
    async with httpx.AsyncClient(timeout=60) as http:
        session, initialized = await open_session(http, url, WIDE)
        created = await answer(http, url, WIDE, session, 1, "tools/call", call)
        task_id = created["result"]["task"]["taskId"]
        polled = await answer(http, url, WIDE, session, 2, "tasks/get", {"taskId": task_id})
        done = await answer(http, url, WIDE, session, 3, "tasks/result", {"taskId": task_id})
        listed = await answer(http, url, WIDE, session, 4, "tasks/list", {})
        forged = await answer(http, url, WIDE, session, 5, "tasks/get", {"taskId": "not-a-task"})

        other_session, _ = await open_session(http, url, NARROW)
        stolen = [
            await answer(http, url, NARROW, other_session, 10 + n, method, {"taskId": task_id})
            for n, method in enumerate(("tasks/get", "tasks/result", "tasks/cancel"))
        ]

    capabilities = initialized["capabilities"]["tasks"]
    assert "list" not in capabilities and "cancel" in capabilities  # listing is not offered
    assert not UUID.search(task_id) and len(task_id) > 40  # the upstream's id never reaches the client
    assert polled["result"]["taskId"] == task_id  # the same id every time it is sealed
    assert polled["result"]["status"] in ("working", "completed")
    assert "Research" in json.dumps(done["result"]["content"])
    assert done["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"] == task_id
    assert listed["error"]["code"] == -32601
    assert forged["error"]["code"] == -32602
    for refused in stolen:
        assert refused["error"]["code"] == -32602, refused
        assert "unknown task" in refused["error"]["message"]

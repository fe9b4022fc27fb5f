"""End to end: access changes made through the admin API take effect on a running data plane,
without a restart, and the audit trail names the rule and snapshot version of each decision."""

from __future__ import annotations

import httpx
import orjson
import pytest
from mcp.shared.exceptions import MCPError

from data_plane import errors
from tests.e2e.gateway import Gateway
from tests.e2e.processes import eventually

pytestmark = pytest.mark.e2e


def _post(gw: Gateway, secret: str, body: dict[str, object], session: str = "") -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {secret}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    if session:
        headers["Mcp-Session-Id"] = session
    return httpx.post(gw.mcp_url("py"), json=body, headers=headers, timeout=10)


def _code(answer: httpx.Response) -> int:
    text = answer.text
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:") and '"id"' in line)
    message = orjson.loads(text)
    return int(message["error"]["code"]) if "error" in message else 0


def call(gw: Gateway, secret: str, tool: str) -> int:
    """The JSON-RPC error code of ``tool`` called in a fresh legacy session (0: it succeeded)."""
    hello = _post(
        gw,
        secret,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
    )
    if _code(hello):
        return _code(hello)
    session = hello.headers["Mcp-Session-Id"]
    _post(gw, secret, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    arguments = {"a": 1, "b": 2} if tool == "add" else {"text": "x"}
    body = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    return _code(_post(gw, secret, body, session))


async def test_a_grant_added_then_narrowed_then_removed_is_enforced_each_time(gateway: Gateway) -> None:
    gateway.register_upstream()
    user = gateway.admin_ok("POST", "/users", json={"email": "alice@demo.test"})
    gateway.admin_ok("POST", "/workspaces/demo/members", json={"user": user["id"], "role": "member"})
    key = gateway.admin_ok(
        "POST", "/keys", json={"name": "alice-cli", "workspace": "demo", "owner": user["id"]}
    )
    secret = key["secret"]

    # No grant yet: the key is known but may use nothing.
    eventually(lambda: call(gateway, secret, "echo") == errors.SERVER_FORBIDDEN, seconds=10, what="refused")

    grant = gateway.admin_ok(
        "POST",
        "/grants",
        json={"name": "alice-echo", "server": "py", "subject": {"kind": "user", "id": "alice@demo.test"}},
    )
    eventually(lambda: call(gateway, secret, "add") == 0, seconds=10, what="the grant reached the data plane")

    gateway.admin_ok("PATCH", f"/grants/{grant['id']}", json={"tools": {"include": ["echo"]}})
    eventually(lambda: call(gateway, secret, "add") == errors.TOOL_FORBIDDEN, seconds=10, what="narrowed")
    async with gateway.mcp_client("py", secret) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["echo"]
        with pytest.raises(MCPError) as refused:
            await client.call_tool("add", {"a": 1, "b": 2})
        assert refused.value.data is not None and refused.value.data["rule"] == "default-deny"

    gateway.admin_ok("DELETE", f"/grants/{grant['id']}")
    eventually(lambda: call(gateway, secret, "echo") == errors.SERVER_FORBIDDEN, seconds=10, what="removed")

    def audited() -> bool:
        events = gateway.admin_ok("GET", "/audit-events", params={"key": key["id"], "limit": 200})
        return any(e["rule"] == "grant:alice-echo" and e["snapshot_version"] for e in events["items"])

    eventually(audited, seconds=10, what="an audit event naming the grant and the snapshot version")

"""End to end: admin API -> signed snapshot over gRPC -> data plane -> real upstream, and back.

Every test drives real processes: control plane, data plane, an official-SDK upstream, and the
official MCP client.
"""

from __future__ import annotations

from typing import Any

import httpx
import mcp_types
import pytest
from mcp.shared.exceptions import MCPError

from tests.e2e.gateway import UPSTREAM_SECRET, Gateway
from tests.e2e.processes import eventually

pytestmark = pytest.mark.e2e


def register(gw: Gateway) -> dict[str, Any]:
    """Register a workspace, the upstream server and two keys through the admin API."""
    server = gw.register_upstream()
    wide = gw.admin_ok("POST", "/keys", json={"name": "wide", "workspace": "demo", "servers": ["py"]})
    narrow = gw.admin_ok(
        "POST", "/keys", json={"name": "narrow", "workspace": "demo", "tools": {"py": ["echo"]}}
    )
    return {"server": server, "wide": wide, "narrow": narrow}


def wait_until_key_works(gw: Gateway, secret: str) -> None:
    """The pushed snapshot reaches the data plane (bounded wait, no sleeps)."""

    def works() -> bool:
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json, text/event-stream"}
        return httpx.post(gw.mcp_url("py"), json=body, headers=headers, timeout=5).status_code != 401

    eventually(works, seconds=10, what="key accepted by the data plane")


async def test_client_lists_and_calls_tools_through_the_data_plane(gateway: Gateway) -> None:
    made = register(gateway)
    assert {t["name"] for t in gateway.admin_ok("GET", "/servers/py/tools")} >= {"echo", "add"}
    wait_until_key_works(gateway, made["wide"]["secret"])

    async with gateway.mcp_client("py", made["wide"]["secret"]) as client:
        tools = await client.list_tools()
        assert {"echo", "add", "seen_headers"} <= {t.name for t in tools.tools}
        result = await client.call_tool("add", {"a": 2, "b": 40})
        assert not result.is_error
        assert result.structured_content == {"result": 42}
        seen = await client.call_tool("seen_headers", {})
        headers = seen.structured_content or {}
    # The upstream got the injected credential, never the client's key.
    text = str(headers).lower()
    assert UPSTREAM_SECRET in str(headers)
    assert made["wide"]["secret"].lower() not in text


async def test_legacy_client_works_through_the_data_plane(gateway: Gateway) -> None:
    made = register(gateway)
    wait_until_key_works(gateway, made["wide"]["secret"])
    async with gateway.mcp_client("py", made["wide"]["secret"], mode="legacy") as client:
        assert client.protocol_version.startswith("20")
        result = await client.call_tool("echo", {"text": "hello"})
        assert result.content[0] == mcp_types.TextContent(type="text", text="hello")


async def test_narrow_key_sees_only_its_tools_and_other_calls_are_refused_with_a_reason(
    gateway: Gateway,
) -> None:
    made = register(gateway)
    wait_until_key_works(gateway, made["narrow"]["secret"])
    async with gateway.mcp_client("py", made["narrow"]["secret"]) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["echo"]
        assert (await client.call_tool("echo", {"text": "ok"})).content[0].text == "ok"  # type: ignore[union-attr]
        with pytest.raises(MCPError) as refused:
            await client.call_tool("add", {"a": 1, "b": 2})
    assert refused.value.error.code == -32003
    assert "add" in refused.value.error.message


async def test_revoked_key_is_refused_with_401_without_restart(gateway: Gateway) -> None:
    made = register(gateway)
    secret = made["wide"]["secret"]
    wait_until_key_works(gateway, secret)
    before = gateway.readyz()["snapshot_version"]
    gateway.admin_ok("POST", f"/keys/{made['wide']['id']}/revoke")

    def refused() -> bool:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json, text/event-stream"}
        response = httpx.post(gateway.mcp_url("py"), json=body, headers=headers, timeout=5)
        return response.status_code == 401 and "resource_metadata" in response.headers.get(
            "www-authenticate", ""
        )

    eventually(refused, seconds=5, what="revoked key refused")
    assert gateway.readyz()["snapshot_version"] != before
    assert gateway.data_plane is not None and gateway.data_plane.proc is not None
    assert gateway.data_plane.proc.poll() is None  # no restart happened


async def test_every_call_produces_an_audit_event_listed_by_the_admin_api(gateway: Gateway) -> None:
    made = register(gateway)
    wait_until_key_works(gateway, made["narrow"]["secret"])
    async with gateway.mcp_client("py", made["narrow"]["secret"]) as client:
        await client.call_tool("echo", {"text": "audited"})
        with pytest.raises(MCPError):
            await client.call_tool("add", {"a": 1, "b": 2})

    def events(**params: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = gateway.admin_ok("GET", "/audit-events", params=params)["items"]
        return items

    eventually(lambda: len(events(tool="add")) == 1, seconds=10, what="audit event for the denied call")
    ok = events(tool="echo", status="ok")
    assert len(ok) == 1
    assert ok[0]["key_name"] == "narrow" and ok[0]["server"] == "py" and ok[0]["latency_ms"] > 0
    denied = events(tool="add")[0]
    assert denied["status"] == "denied" and denied["error_code"] == -32003
    assert events(key=made["narrow"]["id"])  # filter by key id


async def test_data_plane_restarted_while_the_control_plane_is_down_serves_its_persisted_snapshot(
    gateway: Gateway,
) -> None:
    made = register(gateway)
    wait_until_key_works(gateway, made["wide"]["secret"])
    assert gateway.control_plane is not None and gateway.data_plane is not None
    eventually(lambda: gateway.readyz()["snapshot_version"] != "", what="snapshot applied")
    gateway.data_plane.stop()
    gateway.control_plane.stop()

    gateway.start_data_plane()
    ready = gateway.readyz()
    assert ready["ready"] is True and ready["source"] == "disk"
    assert ready["control_plane_connected"] is False
    async with gateway.mcp_client("py", made["wide"]["secret"]) as client:
        assert (await client.call_tool("echo", {"text": "offline"})).content[0].text == "offline"  # type: ignore[union-attr]


async def test_air_gapped_data_plane_serves_from_a_snapshot_file_the_control_plane_exported(
    gateway: Gateway,
) -> None:
    made = register(gateway)
    exported = gateway.admin("GET", "/dataplane-groups/default/snapshot")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/jose")
    assert UPSTREAM_SECRET not in exported.text  # header values travel sealed
    snapshot_file = gateway.tmp / "exported.jws"
    snapshot_file.write_text(exported.text)
    assert gateway.control_plane is not None
    assert gateway.data_plane is not None
    gateway.data_plane.stop()
    gateway.control_plane.stop()
    (gateway.dp_state / "last-good.jws").unlink()  # nothing to fall back on but the exported file

    gateway.start_data_plane(control_plane="none", snapshot_file=snapshot_file)
    ready = gateway.readyz()
    assert ready["source"] == "file"
    assert ready["snapshot_version"] == exported.headers["x-mcpgw-snapshot-version"]
    async with gateway.mcp_client("py", made["narrow"]["secret"]) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["echo"]
        assert (await client.call_tool("echo", {"text": "air"})).content[0].text == "air"  # type: ignore[union-attr]


async def test_data_plane_workers_share_the_port_and_each_enforces_the_pushed_snapshot(
    gateway: Gateway,
) -> None:
    made = register(gateway)
    assert gateway.data_plane is not None
    gateway.data_plane.stop()
    gateway.start_data_plane(workers=2)

    def both_workers_applied() -> bool:
        planes = gateway.admin_ok("GET", "/dataplanes")
        current = [p for p in planes if p["connected"] and p["applied_version"]]
        return len({p["node_id"] for p in current}) == 2 and len({p["applied_version"] for p in current}) == 1

    eventually(both_workers_applied, seconds=15, what="two workers connected with the same version")
    node_ids = {p["node_id"] for p in gateway.admin_ok("GET", "/dataplanes") if p["connected"]}
    base = min(node_ids, key=len)
    assert node_ids == {base, f"{base}-w1"}
    async with gateway.mcp_client("py", made["wide"]["secret"]) as client:
        assert (await client.call_tool("add", {"a": 1, "b": 1})).structured_content == {"result": 2}

    gateway.admin_ok("POST", f"/keys/{made['wide']['id']}/revoke")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {
        "Authorization": f"Bearer {made['wide']['secret']}",
        "Accept": "application/json, text/event-stream",
    }

    def refused_by_every_worker() -> bool:
        # A new connection per request: the kernel spreads them over both workers.
        return all(
            httpx.post(gateway.mcp_url("py"), json=body, headers=headers, timeout=5).status_code == 401
            for _ in range(20)
        )

    eventually(refused_by_every_worker, seconds=10, what="revoked key refused by every worker")


async def test_wrongly_signed_snapshot_is_nacked_and_the_old_one_keeps_serving(gateway: Gateway) -> None:
    made = register(gateway)
    wait_until_key_works(gateway, made["wide"]["secret"])
    assert gateway.control_plane is not None
    gateway.control_plane.stop()
    # The control plane comes back with a different signing key than the one the data plane trusts.
    gateway.start_control_plane(signing_key_file=gateway.tmp / "impostor-signing-key.jwk")
    extra = gateway.admin_ok("POST", "/keys", json={"name": "later", "workspace": "demo", "servers": ["py"]})

    def nacked() -> bool:
        planes = gateway.admin_ok("GET", "/dataplanes")
        return any(p["nack_reason"] for p in planes)

    eventually(nacked, seconds=15, what="NACK visible in the admin API")
    plane = gateway.admin_ok("GET", "/dataplanes")[0]
    assert "signature" in plane["nack_reason"]
    # The old snapshot keeps serving: the old key works, the key only the refused snapshot has does not.
    async with gateway.mcp_client("py", made["wide"]["secret"]) as client:
        assert (await client.call_tool("echo", {"text": "still"})).content[0].text == "still"  # type: ignore[union-attr]
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Authorization": f"Bearer {extra['secret']}", "Accept": "application/json, text/event-stream"}
    assert httpx.post(gateway.mcp_url("py"), json=body, headers=headers, timeout=5).status_code == 401


BAD_INPUTS: list[tuple[str, bytes, dict[str, str], int]] = [
    ("not JSON", b"not json", {}, 400),
    ("not JSON-RPC", b'{"hello": "world"}', {}, 400),
    (
        "unknown key",
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}',
        {"Authorization": "Bearer nope"},
        401,
    ),
    ("no key", b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}', {"Authorization": ""}, 401),
    (
        "malformed header",
        b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}',
        {"Authorization": "Basic Zm9v"},
        401,
    ),
]


def test_bad_input_gets_a_clear_4xx_never_a_500(gateway: Gateway) -> None:
    made = register(gateway)
    wait_until_key_works(gateway, made["wide"]["secret"])
    base = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {made['wide']['secret']}",
    }
    for case, body, headers, status in BAD_INPUTS:
        sent = {k: v for k, v in {**base, **headers}.items() if v}
        response = httpx.post(gateway.mcp_url("py"), content=body, headers=sent, timeout=5)
        assert response.status_code == status, case
        assert response.json()["error"]["message"], case
    unknown = httpx.post(gateway.mcp_url("nope"), content=BAD_INPUTS[2][1], headers=base, timeout=5)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"]

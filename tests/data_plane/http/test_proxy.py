"""The data plane between the official MCP client and a real official-SDK upstream server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import httpx2
import mcp_types
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated, ToolsListChanged

from data_plane import errors
from data_plane import keys as app_keys
from tests.data_plane.dpkit import RunningDataPlane, running_data_plane
from tests.data_plane.kit import ELSEWHERE, EXPIRED, NARROW, UPSTREAM_SECRET, WIDE, KeyPair

ACCEPT = "application/json, text/event-stream"


@pytest.fixture(params=["sse", "json"])
def upstream_url(request: pytest.FixtureRequest) -> str:
    """Each proxy test runs against an SSE-answering and a JSON-answering upstream."""
    url: str = request.getfixturevalue(f"{request.param}_upstream")
    return url


@pytest.fixture
async def dp(keys: KeyPair, tmp_path: Path, upstream_url: str) -> AsyncIterator[RunningDataPlane]:
    async with running_data_plane(keys, tmp_path, upstream_url) as running:
        yield running


@asynccontextmanager
async def mcp_client(url: str, secret: str, mode: str = "legacy") -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=10) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_client_lists_and_calls_tools_through_the_data_plane(dp: RunningDataPlane, mode: str) -> None:
    async with mcp_client(dp.mcp_url(), WIDE, mode) as client:
        tools = await client.list_tools()
        assert {"echo", "add", "seen_headers"} <= {t.name for t in tools.tools}
        echoed = await client.call_tool("echo", {"text": "hello"})
        assert echoed.content[0] == mcp_types.TextContent(type="text", text="hello")
        added = await client.call_tool("add", {"a": 2, "b": 40})
        assert added.structured_content == {"result": 42}


async def test_a_modern_client_hears_what_it_listens_for_through_the_data_plane(dp: RunningDataPlane) -> None:
    url, readme = dp.mcp_url(), "file:///docs/readme.md"
    heard: list[object] = []
    async with mcp_client(url, WIDE, "auto") as client, mcp_client(url, WIDE, "auto") as other:
        async with client.listen(tools_list_changed=True, resource_subscriptions=[readme]) as sub:
            assert sub.honored.tools_list_changed is True
            assert sub.honored.resource_subscriptions == [readme]
            await other.call_tool("publish_changes", {"uri": "file:///docs/other.md"})  # not listened for
            await other.call_tool("publish_changes", {"uri": readme})
            async with asyncio.timeout(10):
                async for event in sub:  # in order; repeated list changes may be coalesced
                    heard.append(event)
                    if event == ResourceUpdated(uri=readme):
                        break
        # The stream closed with the context; the session goes on.
        assert (await client.call_tool("echo", {"text": "after"})).content[0] == mcp_types.TextContent(
            type="text", text="after"
        )
    assert ToolsListChanged() in heard
    assert ResourceUpdated(uri="file:///docs/other.md") not in heard


async def test_upstream_gets_the_injected_header_and_never_the_client_key(dp: RunningDataPlane) -> None:
    async with mcp_client(dp.mcp_url(), WIDE) as client:
        seen = await client.call_tool("seen_headers", {})
    text = orjson.dumps(seen.structured_content).decode()
    assert UPSTREAM_SECRET in text
    assert WIDE not in text
    assert "authorization" not in text and "cookie" not in text


async def test_narrow_key_sees_only_its_tools_and_a_refused_call_says_why(dp: RunningDataPlane) -> None:
    async with mcp_client(dp.mcp_url(), NARROW) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["echo"]
        assert (await client.call_tool("echo", {"text": "ok"})).content[0] == mcp_types.TextContent(
            type="text", text="ok"
        )
        with pytest.raises(MCPError) as refused:
            await client.call_tool("add", {"a": 1, "b": 2})
    assert refused.value.error.code == errors.TOOL_FORBIDDEN
    assert "add" in refused.value.error.message


async def test_refused_tool_call_is_a_json_rpc_error_with_reason_and_rule(dp: RunningDataPlane) -> None:
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "add", "arguments": {}}}
    headers = {"Authorization": f"Bearer {NARROW}", "Accept": ACCEPT}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(dp.mcp_url(), json=body, headers=headers)
    assert response.status_code == 200
    answer = response.json()
    assert answer["id"] == 7
    assert answer["error"]["code"] == errors.TOOL_FORBIDDEN
    assert answer["error"]["data"]["rule"] == "key-scope"
    assert "narrow" in answer["error"]["data"]["reason"]


BAD_INPUTS: list[tuple[str, str, bytes, dict[str, str], int, int]] = [
    ("not JSON", "py", b"not json", {}, 400, errors.PARSE_ERROR),
    ("not JSON-RPC", "py", b'{"hello": "world"}', {}, 400, errors.INVALID_REQUEST),
    ("batch", "py", b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', {}, 400, errors.INVALID_REQUEST),
    ("unknown server", "nope", b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}', {}, 404, errors.NOT_FOUND),
    (
        "no key",
        "py",
        b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}',
        {"Authorization": ""},
        401,
        errors.UNAUTHENTICATED,
    ),
    (
        "bad key",
        "py",
        b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}',
        {"Authorization": "Bearer nope"},
        401,
        errors.UNAUTHENTICATED,
    ),
    (
        "malformed",
        "py",
        b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}',
        {"Authorization": "Basic Zm9v"},
        401,
        errors.UNAUTHENTICATED,
    ),
    (
        "expired key",
        "py",
        b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}',
        {"Authorization": f"Bearer {EXPIRED}"},
        401,
        errors.UNAUTHENTICATED,
    ),
    (
        "other server's key",
        "py",
        b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}',
        {"Authorization": f"Bearer {ELSEWHERE}"},
        403,
        errors.SERVER_FORBIDDEN,
    ),
]


@pytest.mark.parametrize(
    ("case", "slug", "body", "headers", "status", "code"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
async def test_bad_input_gets_the_documented_4xx_and_json_rpc_error_never_a_500(
    dp: RunningDataPlane, case: str, slug: str, body: bytes, headers: dict[str, str], status: int, code: int
) -> None:
    sent = {
        "Content-Type": "application/json",
        "Accept": ACCEPT,
        "Authorization": f"Bearer {WIDE}",
        **headers,
    }
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            dp.mcp_url(slug), content=body, headers={k: v for k, v in sent.items() if v}
        )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    if status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert challenge.endswith(
            'resource_metadata="https://dp.example.test/.well-known/oauth-protected-resource/py/mcp"'
        )
        # A presented key that is refused says so (RFC 6750); no key at all gets the bare challenge.
        assert ('error="invalid_token"' in challenge) == ("key" in case and "no key" not in case)


async def test_every_request_is_audited_with_its_outcome(dp: RunningDataPlane) -> None:
    buffer = dp.app[app_keys.AUDIT_BUFFER]
    async with mcp_client(dp.mcp_url(), NARROW) as client:
        buffer.take(10_000)  # forget the handshake
        await client.call_tool("echo", {"text": "audited"})
        with pytest.raises(MCPError):
            await client.call_tool("add", {"a": 1, "b": 2})
    events = [e for e in buffer.take(10_000) if e.method == "tools/call"]
    assert [(e.tool, e.status, e.error_code) for e in events] == [
        ("echo", "ok", 0),
        ("add", "denied", errors.TOOL_FORBIDDEN),
    ]
    assert all(e.key_name == "narrow" and e.server == "py" and e.snapshot_version == "1" for e in events)
    assert events[0].http_status == 200 and events[0].latency_ms > 0
    assert events[1].rule == "key-scope"


async def test_upstream_down_is_a_502_json_rpc_error(keys: KeyPair, tmp_path: Path) -> None:
    async with running_data_plane(keys, tmp_path, "http://127.0.0.1:9/mcp") as down:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                down.mcp_url(),
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"Authorization": f"Bearer {WIDE}", "Accept": ACCEPT},
            )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == errors.UPSTREAM_UNREACHABLE

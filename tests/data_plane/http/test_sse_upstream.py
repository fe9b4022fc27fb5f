"""Legacy HTTP+SSE (2024-11-05) upstreams through the real request path, with the official client.

The upstream is the official-SDK echo server on its SSE transport (``--sse``: GET ``/sse``,
POST ``/messages/``), requiring the injected ``X-Api-Key`` on every request (GET and POSTs);
clients speak Streamable HTTP to the data plane, which holds one upstream SSE connection per
legacy session (and one per request without session).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types
import orjson
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from data_plane import errors
from data_plane import keys as app_keys
from data_plane.runtime.sse_upstream.pool import SsePool
from shared.snapshot import ServerEntry
from shared.snapshot.credentials import ApiKeyAuth
from tests.conftest import free_port
from tests.data_plane.conftest import echo_server
from tests.data_plane.credkit import sealed, serving_snapshot, with_servers
from tests.data_plane.dpkit import RunningDataPlane, running_data_plane
from tests.data_plane.flows import (
    connected,
    narrow_key_sees_and_calls_only_echo,
    progress_and_elicitation_reach_the_client,
    text_of,
)
from tests.data_plane.http.test_sessions import INITIALIZE, call, headers, open_session, read_events
from tests.data_plane.kit import UPSTREAM_SECRET, WIDE, KeyPair

QUERY_KEY = "sse-query-key-7e21"


def sse_pool(dp: RunningDataPlane) -> SsePool:
    (pool,) = dp.app[app_keys.STDIO].sse_pools()
    return pool


async def until(pool: SsePool, condition: Any, *, seconds: float = 10) -> None:
    """Wait (bounded) until ``condition()`` holds, re-checking whenever a connection opens or ends."""
    async with asyncio.timeout(seconds), pool.changed:
        await pool.changed.wait_for(condition)


async def next_message(lines: AsyncIterator[str]) -> dict[str, Any]:
    """The JSON-RPC message of the next SSE event carrying data."""
    async for line in lines:
        if line.startswith("data:") and line[5:].strip():
            message: dict[str, Any] = orjson.loads(line[5:])
            return message
    raise AssertionError("the stream ended")


@pytest.fixture
async def dp(keys: KeyPair, tmp_path: Path, legacy_sse_upstream: str) -> AsyncIterator[RunningDataPlane]:
    async with running_data_plane(keys, tmp_path, legacy_sse_upstream, transport="sse") as running:
        yield running


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_client_lists_and_calls_tools_prompts_and_resources_of_an_sse_server(
    dp: RunningDataPlane, mode: str
) -> None:
    async with connected(dp, mode=mode) as client:
        tools = await client.list_tools()
        echoed = await client.call_tool("echo", {"text": "through sse"})
        added = await client.call_tool("add", {"a": 2, "b": 40})
        prompt = await client.get_prompt("greeting", {"name": "Ada"})
        resource = await client.read_resource("file:///docs/readme.md")
    assert {"echo", "add", "ask_name", "count"} <= {tool.name for tool in tools.tools}
    assert text_of(echoed) == "through sse"
    assert added.structured_content == {"result": 42}
    assert prompt.messages[0].content == mcp_types.TextContent(type="text", text="Say hello to Ada.")
    assert resource.contents[0] == mcp_types.TextResourceContents(
        uri="file:///docs/readme.md", mime_type="text/markdown", text="# readme"
    )


async def test_a_narrow_key_sees_and_calls_only_its_tools_on_an_sse_server(dp: RunningDataPlane) -> None:
    await narrow_key_sees_and_calls_only_echo(dp)


async def test_progress_and_elicitation_reach_the_client_of_an_sse_session(dp: RunningDataPlane) -> None:
    await progress_and_elicitation_reach_the_client(dp)


async def test_the_injected_credential_reaches_the_sse_server_and_the_clients_token_does_not(
    dp: RunningDataPlane,
) -> None:
    # The upstream answers 401 to any GET or POST without X-Api-Key: the session working at all
    # shows the GET carried it; seen_headers shows what the POST of this call carried.
    async with connected(dp) as client:
        seen = (await client.call_tool("seen_headers", {})).structured_content
    assert seen is not None
    assert seen["x-api-key"] == UPSTREAM_SECRET
    assert "authorization" not in seen
    assert WIDE not in str(seen)


async def test_an_api_key_in_the_query_goes_on_the_get_and_on_every_post(
    keys: KeyPair, tmp_path: Path
) -> None:
    with echo_server("--sse", "--require-query", f"api_key={QUERY_KEY}") as (url, _):
        auth = ApiKeyAuth(location="query", name="api_key", value=sealed(keys, QUERY_KEY))
        entry = ServerEntry(
            id="srv-q", workspace="demo", transport="sse", url=url, auth=auth, timeout_seconds=10
        )
        async with serving_snapshot(keys, tmp_path, with_servers(keys, {"queried": entry})) as dp:
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {WIDE}"}, timeout=20) as http:
                transport = streamable_http_client(dp.mcp_url("queried"), http_client=http)
                async with Client(transport, mode="legacy") as client:
                    echoed = await client.call_tool("echo", {"text": "queried"})
    assert text_of(echoed) == "queried"


async def test_a_server_notification_reaches_the_sessions_get_stream(dp: RunningDataPlane) -> None:
    async with httpx.AsyncClient(timeout=20) as http:
        token, _ = await open_session(http, dp.mcp_url())
        get_headers = headers(WIDE, token, Accept="text/event-stream")
        async with http.stream("GET", dp.mcp_url(), headers=get_headers) as stream:
            assert stream.status_code == 200
            triggered = await http.post(
                dp.mcp_url(), json=call("notify_tools_changed"), headers=headers(WIDE, token)
            )
            async with asyncio.timeout(10):
                (event,) = await read_events(stream, 1)
        await http.delete(dp.mcp_url(), headers=headers(WIDE, token))
    assert triggered.status_code == 200
    assert event["data"]["method"] == "notifications/tools/list_changed"


async def test_delete_closes_the_upstream_stream_and_ends_the_session(dp: RunningDataPlane) -> None:
    async with httpx.AsyncClient(timeout=20) as http:
        token, _ = await open_session(http, dp.mcp_url())
        pool = sse_pool(dp)
        assert [c.kind for c in pool.channels] == ["session"]
        ping = {"jsonrpc": "2.0", "id": 5, "method": "ping"}
        pong = await http.post(dp.mcp_url(), json=ping, headers=headers(WIDE, token))
        ended = await http.delete(dp.mcp_url(), headers=headers(WIDE, token))
        await until(pool, lambda: not pool.channels)
        after = await http.post(dp.mcp_url(), json=call("echo", {"text": "x"}), headers=headers(WIDE, token))
    assert pong.json() == {"jsonrpc": "2.0", "id": 5, "result": {}}
    assert ended.status_code == 200
    assert after.status_code == 404


async def test_a_request_without_session_gets_a_connection_of_its_own_closed_once_answered(
    dp: RunningDataPlane,
) -> None:
    async with connected(dp, mode="auto") as client:
        await client.list_tools()
    pool = sse_pool(dp)
    await until(pool, lambda: not pool.channels)


async def test_the_upstream_dropping_its_stream_fails_the_request_in_flight_and_ends_the_session(
    keys: KeyPair, tmp_path: Path
) -> None:
    with echo_server("--sse", "--require-header", f"X-Api-Key={UPSTREAM_SECRET}") as (url, upstream):
        async with (
            running_data_plane(keys, tmp_path, url, transport="sse") as dp,
            httpx.AsyncClient(timeout=20) as http,
        ):
            token, _ = await open_session(http, dp.mcp_url())
            # ask_name waits for the client's answer: the call is in flight when the server dies.
            async with http.stream(
                "POST", dp.mcp_url(), json=call("ask_name", rpc_id=7), headers=headers(WIDE, token)
            ) as stream:
                lines = stream.aiter_lines()
                async with asyncio.timeout(10):
                    asked = await next_message(lines)
                    upstream.kill()
                    failed = await next_message(lines)
            after = await http.post(
                dp.mcp_url(), json=call("echo", {"text": "x"}), headers=headers(WIDE, token)
            )
    assert asked["method"] == "elicitation/create"
    assert failed["id"] == 7
    assert failed["error"]["code"] == errors.UPSTREAM_UNREACHABLE
    assert "SSE server" in failed["error"]["message"]
    assert after.status_code == 404, "the session ended with its stream: the client re-initializes"


async def test_an_unreachable_sse_server_is_a_json_rpc_error_with_the_reason(
    keys: KeyPair, tmp_path: Path
) -> None:
    async with (
        running_data_plane(keys, tmp_path, f"http://127.0.0.1:{free_port()}/sse", transport="sse") as dp,
        httpx.AsyncClient(timeout=20) as http,
    ):
        response = await http.post(dp.mcp_url(), json=INITIALIZE, headers=headers(WIDE))
    assert response.status_code == 502
    assert response.json()["id"] == 1
    assert response.json()["error"]["code"] == errors.UPSTREAM_UNREACHABLE
    assert "cannot be reached" in response.json()["error"]["message"]
    assert "Mcp-Session-Id" not in response.headers

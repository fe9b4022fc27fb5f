"""The downstream legacy HTTP+SSE endpoint (``GET /{slug}/sse``) with the official ``sse_client``.

The upstream is the official-SDK echo server on Streamable HTTP (SSE answers, requiring the
injected ``X-Api-Key``); old clients reach it through the data plane's legacy SSE endpoint,
authenticated and authorized like any other request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import mcp_types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPError

from data_plane import errors
from data_plane import keys as app_keys
from tests.data_plane.dpkit import RunningDataPlane, running_data_plane
from tests.data_plane.kit import NARROW, UPSTREAM_SECRET, WIDE, KeyPair


def sse_url(dp: RunningDataPlane, slug: str = "py") -> str:
    return f"{dp.base_url}/{slug}/sse"


@asynccontextmanager
async def connected(dp: RunningDataPlane, *, secret: str = WIDE, **options: Any) -> AsyncIterator[Client]:
    """The official client over the legacy SSE transport, connected to ``py`` through ``dp``."""
    transport = sse_client(sse_url(dp), headers={"Authorization": f"Bearer {secret}"}, timeout=20)
    async with Client(transport, mode="legacy", **options) as client:
        yield client


def text_of(result: mcp_types.CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, mcp_types.TextContent)
    return first.text


@pytest.fixture
async def dp(keys: KeyPair, tmp_path: Path, sse_upstream: str) -> AsyncIterator[RunningDataPlane]:
    async with running_data_plane(keys, tmp_path, sse_upstream) as running:
        yield running


async def test_an_sse_client_lists_and_calls_tools_prompts_and_resources(dp: RunningDataPlane) -> None:
    async with connected(dp) as client:
        tools = await client.list_tools()
        echoed = await client.call_tool("echo", {"text": "over the legacy stream"})
        prompt = await client.get_prompt("greeting", {"name": "Ada"})
        resource = await client.read_resource("file:///docs/readme.md")
        pong = await client.session.send_ping()
    assert {"echo", "add", "ask_name", "count"} <= {tool.name for tool in tools.tools}
    assert text_of(echoed) == "over the legacy stream"
    assert prompt.messages[0].content == mcp_types.TextContent(type="text", text="Say hello to Ada.")
    assert resource.contents[0] == mcp_types.TextResourceContents(
        uri="file:///docs/readme.md", mime_type="text/markdown", text="# readme"
    )
    assert pong == mcp_types.EmptyResult()


async def test_a_narrow_key_sees_and_calls_only_its_tools_over_the_sse_endpoint(dp: RunningDataPlane) -> None:
    async with connected(dp, secret=NARROW) as client:
        listed = await client.list_tools()
        with pytest.raises(MCPError) as refused:
            await client.call_tool("add", {"a": 1, "b": 2})
        still = await client.call_tool("echo", {"text": "still served"})
    assert [tool.name for tool in listed.tools] == ["echo"]
    assert refused.value.code == errors.TOOL_FORBIDDEN
    assert text_of(still) == "still served"


async def test_progress_elicitation_and_server_notifications_reach_the_sse_client(
    dp: RunningDataPlane,
) -> None:
    asked: list[str] = []
    progress: list[float] = []
    changed = asyncio.Event()

    async def elicit(
        context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult:
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"name": "Ada"})

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async def on_message(message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            changed.set()

    async with connected(dp, elicitation_callback=elicit, message_handler=on_message) as client:
        greeted = await client.call_tool("ask_name", {})
        counted = await client.call_tool("count", {"steps": 3}, progress_callback=on_progress)
        await client.call_tool("notify_tools_changed", {})
        async with asyncio.timeout(10):
            await changed.wait()
    assert text_of(greeted) == "hello Ada"
    assert asked == ["What is your name?"]
    assert counted.structured_content == {"result": 3}
    assert progress == [1, 2, 3]


async def test_the_stream_and_every_post_need_a_key(dp: RunningDataPlane) -> None:
    async with httpx.AsyncClient(timeout=20) as http:
        refused = await http.get(sse_url(dp))
        async with http.stream("GET", sse_url(dp), headers={"Authorization": f"Bearer {WIDE}"}) as stream:
            endpoint = await _endpoint_of(stream)
            url = f"{dp.base_url}/py/{endpoint}"
            anonymous = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            foreign = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"Authorization": f"Bearer {NARROW}"},
            )
    assert refused.status_code == 401
    assert "Bearer" in refused.headers["WWW-Authenticate"]
    assert anonymous.status_code == 401
    assert foreign.status_code == 404, "a stream belongs to the key that opened it"


async def test_a_bad_or_missing_session_id_is_a_4xx_with_a_reason(dp: RunningDataPlane) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    auth = {"Authorization": f"Bearer {WIDE}"}
    async with httpx.AsyncClient(timeout=20) as http:
        missing = await http.post(f"{dp.base_url}/py/messages", json=ping, headers=auth)
        forged = await http.post(f"{dp.base_url}/py/messages?session_id=not-a-token", json=ping, headers=auth)
    assert missing.status_code == 400
    assert "session_id is required" in missing.json()["error"]["message"]
    assert forged.status_code == 404
    assert "unknown session_id" in forged.json()["error"]["message"]


async def test_a_post_to_a_process_not_holding_the_stream_is_refused_with_the_reason(
    keys: KeyPair, tmp_path: Path, sse_upstream: str
) -> None:
    async with (
        running_data_plane(keys, tmp_path / "a", sse_upstream) as a,
        running_data_plane(keys, tmp_path / "b", sse_upstream) as b,
        httpx.AsyncClient(timeout=20) as http,
        http.stream("GET", sse_url(a), headers={"Authorization": f"Bearer {WIDE}"}) as stream,
    ):
        endpoint = await _endpoint_of(stream)
        elsewhere = await http.post(
            f"{b.base_url}/py/{endpoint}",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Authorization": f"Bearer {WIDE}"},
        )
    assert elsewhere.status_code == 404
    assert "another worker or replica" in elsewhere.json()["error"]["message"]


async def test_a_foreign_origin_is_refused_on_the_stream(dp: RunningDataPlane) -> None:
    headers = {"Authorization": f"Bearer {WIDE}", "Origin": "https://evil.example"}
    async with httpx.AsyncClient(timeout=20) as http:
        refused = await http.get(sse_url(dp), headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == errors.ORIGIN_FORBIDDEN


async def test_hanging_up_ends_the_upstream_session(dp: RunningDataPlane, sse_upstream: str) -> None:
    async with connected(dp) as client:
        seen = (await client.call_tool("seen_headers", {})).structured_content
    assert seen is not None
    assert seen["x-api-key"] == UPSTREAM_SECRET and "authorization" not in seen
    registry = dp.app[app_keys.LEGACY_SSE]
    async with asyncio.timeout(10):
        while registry.streams or registry.ending_tasks():
            await asyncio.gather(*registry.ending_tasks())  # the DELETE sent for the hung-up stream
            await asyncio.sleep(0)  # let the cancelled stream handler run its cleanup
    # The upstream no longer knows the session: a request naming it is refused there.
    headers = {
        "Mcp-Session-Id": seen["mcp-session-id"],
        "X-Api-Key": UPSTREAM_SECRET,
        "Accept": "application/json, text/event-stream",
    }
    async with httpx.AsyncClient(timeout=20) as http:
        gone = await http.post(
            sse_upstream, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers
        )
    assert gone.status_code == 404


async def _endpoint_of(stream: httpx.Response) -> str:
    """The data of the stream's first event, which must be ``endpoint``."""
    event = ""
    async for line in stream.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            assert event == "endpoint"
            data: str = line[5:].strip()
            return data
    raise AssertionError("the stream ended before its endpoint event")

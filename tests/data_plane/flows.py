"""Client flows run through the data plane against each upstream transport (stdio, legacy SSE):
the official client over Streamable HTTP, and what each flow must show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp_types
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from data_plane import errors
from tests.data_plane.dpkit import RunningDataPlane
from tests.data_plane.kit import NARROW, WIDE


@asynccontextmanager
async def connected(
    dp: RunningDataPlane, *, mode: str = "legacy", secret: str = WIDE, **options: Any
) -> AsyncIterator[Client]:
    """The official client (Streamable HTTP), connected to server ``py`` through ``dp``."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=20) as http:
        transport = streamable_http_client(dp.mcp_url(), http_client=http)
        async with Client(transport, mode=mode, **options) as client:
            yield client


def text_of(result: mcp_types.CallToolResult) -> str:
    """The text of a tool result's first content block."""
    first = result.content[0]
    assert isinstance(first, mcp_types.TextContent)
    return first.text


async def narrow_key_sees_and_calls_only_echo(dp: RunningDataPlane) -> None:
    """The ``NARROW`` key lists only ``echo`` and is refused ``add`` (-32003)."""
    async with connected(dp, secret=NARROW) as client:
        listed = await client.list_tools()
        with pytest.raises(MCPError) as refused:
            await client.call_tool("add", {"a": 1, "b": 2})
    assert [tool.name for tool in listed.tools] == ["echo"]
    assert refused.value.code == errors.TOOL_FORBIDDEN


async def progress_and_elicitation_reach_the_client(dp: RunningDataPlane) -> None:
    """An elicitation inside a call is answered by the client; progress arrives in order."""
    asked: list[str] = []
    progress: list[float] = []

    async def elicit(
        context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult:
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"name": "Ada"})

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with connected(dp, elicitation_callback=elicit) as client:
        greeted = await client.call_tool("ask_name", {})
        counted = await client.call_tool("count", {"steps": 3}, progress_callback=on_progress)
    assert text_of(greeted) == "hello Ada"
    assert asked == ["What is your name?"]
    assert counted.structured_content == {"result": 3}
    assert progress == [1, 2, 3]

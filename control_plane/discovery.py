"""Tool discovery: fetch an upstream MCP server's tool catalog with the official MCP client.

Discovery is bounded in time and never raises anything but :class:`DiscoveryFailed`, whose
message says what went wrong in terms an admin can act on (and never contains header values).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import Tool as McpTool

from shared.snapshot import canonical_bytes

MAX_PAGES = 100
"""A server that keeps returning cursors is cut off after this many pages."""


class DiscoveryFailed(Exception):
    """The upstream's tool catalog could not be fetched; the message says why."""


@dataclass(frozen=True, slots=True)
class DiscoveredTool:
    """One tool as the upstream describes it, with the hash its definition is pinned by."""

    name: str
    description: str
    input_schema: dict[str, Any]
    annotations: dict[str, Any]
    definition_hash: str


def definition_hash(
    *, name: str, description: str, input_schema: dict[str, Any], annotations: dict[str, Any]
) -> str:
    """SHA-256 (hex) of the canonical JSON of a tool definition."""
    document = {
        "name": name,
        "description": description,
        "inputSchema": input_schema,
        "annotations": annotations,
    }
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def _to_discovered(tool: McpTool) -> DiscoveredTool:
    annotations = (
        tool.annotations.model_dump(mode="json", exclude_none=True, by_alias=True) if tool.annotations else {}
    )
    description = tool.description or ""
    schema = dict(tool.input_schema)
    return DiscoveredTool(
        name=tool.name,
        description=description,
        input_schema=schema,
        annotations=annotations,
        definition_hash=definition_hash(
            name=tool.name, description=description, input_schema=schema, annotations=annotations
        ),
    )


async def _list_all(url: str, http: httpx2.AsyncClient) -> list[DiscoveredTool]:
    async with Client(streamable_http_client(url, http_client=http), mode="auto") as client:
        tools: list[DiscoveredTool] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await client.list_tools(cursor=cursor, cache_mode="refresh")
            tools.extend(_to_discovered(tool) for tool in page.tools)
            cursor = page.next_cursor
            if cursor is None:
                return tools
        raise DiscoveryFailed(f"tools/list returned more than {MAX_PAGES} pages")


def _describe(exc: BaseException) -> str:
    """A one-line reason; for exception groups, the first leaf that says something."""
    if isinstance(exc, BaseExceptionGroup):
        return _describe(exc.exceptions[0])
    if isinstance(exc, MCPError):
        return f"the upstream answered with MCP error {exc.code}: {exc.message}"
    if isinstance(exc, httpx2.HTTPStatusError):
        return f"the upstream answered HTTP {exc.response.status_code}"
    if isinstance(exc, httpx2.TimeoutException):
        return "the upstream did not answer in time"
    if isinstance(exc, httpx2.ConnectError):
        return f"cannot connect to the upstream: {exc}"
    if isinstance(exc, httpx2.HTTPError):
        return f"HTTP error talking to the upstream: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def discover_tools(
    *,
    url: str,
    headers: dict[str, str],
    timeout: float,  # noqa: ASYNC109  (one bound over connect, handshake and every page)
) -> list[DiscoveredTool]:
    """Every tool the MCP server at ``url`` lists, within ``timeout`` seconds in total.

    Raises :class:`DiscoveryFailed` for any failure (unreachable, HTTP error, MCP error, timeout).
    """
    try:
        with anyio.fail_after(timeout):
            async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http:
                return await _list_all(url, http)
    except DiscoveryFailed:
        raise
    except TimeoutError as exc:
        raise DiscoveryFailed(f"the upstream did not list its tools within {timeout:g}s") from exc
    except (MCPError, httpx2.HTTPError, OSError, RuntimeError, ValueError) as exc:
        raise DiscoveryFailed(_describe(exc)) from exc
    except BaseExceptionGroup as group:
        # anyio task groups inside the transport wrap the real failure; keep control-flow
        # exceptions (cancellation, KeyboardInterrupt) propagating.
        matched, rest = group.split(
            (MCPError, httpx2.HTTPError, OSError, RuntimeError, ValueError, TimeoutError)
        )
        if rest is not None or matched is None:
            raise
        raise DiscoveryFailed(_describe(matched)) from group

"""Tool discovery: fetch an upstream MCP server's tool catalog with the official MCP client.

Discovery is bounded in time and never raises anything but :class:`DiscoveryFailed`, whose
message says what went wrong in terms an admin can act on (and never contains header values).

A stdio server is discovered by launching its command here, on the control plane, with the
official client's stdio transport and the same environment rule as on data planes
(``shared.stdio_env``): the configured env plus ``PATH``/``HOME``/``LANG``, never the control
plane's own variables (the SDK adds its fixed list of harmless names: ``LOGNAME``, ``SHELL``,
``TERM``, ``USER``). The child's stderr goes to this module's log at debug level.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import Tool as McpTool

from shared.snapshot import canonical_bytes
from shared.stdio_env import child_environment

logger = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class StdioTarget:
    """A stdio server to launch for discovery (env values decrypted: never log them)."""

    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, repr=False)
    cwd: str = ""


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


async def _list_all(transport: AbstractAsyncContextManager[Any]) -> list[DiscoveredTool]:
    async with Client(transport, mode="auto") as client:
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
    if isinstance(exc, OSError):
        return f"cannot start or talk to the upstream: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


async def discover_tools(
    *,
    url: str,
    headers: dict[str, str],
    timeout: float,  # noqa: ASYNC109  (one bound over connect, handshake and every page)
    legacy_sse: bool = False,
) -> list[DiscoveredTool]:
    """Every tool the MCP server at ``url`` lists, within ``timeout`` seconds in total.

    ``legacy_sse``: ``url`` is the event stream of a legacy HTTP+SSE (2024-11-05) server.
    Raises :class:`DiscoveryFailed` for any failure (unreachable, HTTP error, MCP error, timeout).
    """
    if legacy_sse:
        return await _bounded(_over_sse(url, headers, timeout), timeout)
    return await _bounded(_over_http(url, headers, timeout), timeout)


async def discover_stdio_tools(
    *,
    target: StdioTarget,
    timeout: float,  # noqa: ASYNC109  (one bound over launch, handshake and every page)
) -> list[DiscoveredTool]:
    """Every tool the stdio server ``target`` lists, launched here and stopped afterwards.

    Raises :class:`DiscoveryFailed` for any failure (command not found, exit, MCP error, timeout).
    """
    return await _bounded(_over_stdio(target), timeout)


@asynccontextmanager
async def _over_http(url: str, headers: dict[str, str], io_timeout: float) -> AsyncIterator[Any]:
    async with (
        httpx2.AsyncClient(headers=headers, timeout=io_timeout) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


@asynccontextmanager
async def _over_sse(url: str, headers: dict[str, str], io_timeout: float) -> AsyncIterator[Any]:
    # The stream is read for as long as discovery lasts: its read bound is the whole bound.
    async with sse_client(url, headers=headers, timeout=io_timeout, sse_read_timeout=io_timeout) as streams:
        yield streams


@asynccontextmanager
async def _over_stdio(target: StdioTarget) -> AsyncIterator[Any]:
    params = StdioServerParameters(
        command=target.command,
        args=list(target.args),
        env=child_environment(target.env),
        cwd=target.cwd or None,
    )
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            async with stdio_client(params, errlog=errlog) as streams:
                yield streams
        finally:
            errlog.seek(0)
            tail = errlog.read()[-2000:]
            if tail:
                logger.debug("stdio server %r wrote to stderr during discovery: %s", target.command, tail)


async def _bounded(
    transport: AbstractAsyncContextManager[Any],
    timeout: float,  # noqa: ASYNC109
) -> list[DiscoveredTool]:
    try:
        with anyio.fail_after(timeout):
            return await _list_all(transport)
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

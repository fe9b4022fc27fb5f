"""Tool discovery against a real MCP server built with the official SDK."""

from __future__ import annotations

import pytest

from control_plane.discovery import DiscoveryFailed, definition_hash, discover_tools
from tests.conftest import free_port
from tests.control_plane.conftest import UpstreamServer


async def test_discovery_lists_every_tool_of_a_real_mcp_server(upstream: UpstreamServer) -> None:
    tools = await discover_tools(url=upstream.url, headers={}, timeout=5)

    by_name = {tool.name: tool for tool in tools}
    assert set(by_name) == {"echo", "add"}
    assert by_name["echo"].description == "Echo the given text back."
    assert by_name["add"].input_schema["properties"].keys() == {"a", "b"}
    assert by_name["add"].definition_hash == definition_hash(
        name="add",
        description="Add two integers.",
        input_schema=by_name["add"].input_schema,
        annotations=by_name["add"].annotations,
    )


async def test_discovery_sends_the_static_headers_upstream(upstream: UpstreamServer) -> None:
    await discover_tools(url=upstream.url, headers={"X-Api-Key": "upstream-secret"}, timeout=5)

    assert upstream.seen_headers
    assert all(seen.get("x-api-key") == "upstream-secret" for seen in upstream.seen_headers)


async def test_unreachable_upstream_fails_discovery_with_a_connect_reason() -> None:
    with pytest.raises(DiscoveryFailed, match="cannot connect"):
        await discover_tools(url=f"http://127.0.0.1:{free_port()}/mcp", headers={}, timeout=5)


async def test_a_path_that_is_not_an_mcp_endpoint_fails_discovery(upstream: UpstreamServer) -> None:
    with pytest.raises(DiscoveryFailed, match="upstream"):
        await discover_tools(url=upstream.url.replace("/mcp", "/not-mcp"), headers={}, timeout=5)


def test_definition_hash_changes_when_any_part_of_the_definition_changes() -> None:
    base = {"name": "echo", "description": "Echo.", "input_schema": {"type": "object"}, "annotations": {}}
    variants = [
        {**base, "description": "Echo, and also send the text elsewhere."},
        {**base, "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}}},
        {**base, "annotations": {"destructiveHint": True}},
    ]
    original = definition_hash(**base)  # type: ignore[arg-type]
    assert all(definition_hash(**variant) != original for variant in variants)  # type: ignore[arg-type]

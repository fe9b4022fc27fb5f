"""Where a legacy SSE connection POSTs: the ``endpoint`` event, resolved and checked."""

from __future__ import annotations

import pytest
from yarl import URL

from data_plane.runtime.sse_upstream.connection import post_url

STREAM = URL("https://mcp.example.test/base/sse?api_key=k1")


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("/messages/?session_id=ab", "https://mcp.example.test/messages/?session_id=ab&api_key=k1"),
        ("messages?session_id=ab", "https://mcp.example.test/base/messages?session_id=ab&api_key=k1"),
        ("https://mcp.example.test/m?api_key=own", "https://mcp.example.test/m?api_key=own"),
    ],
)
def test_the_endpoint_resolves_against_the_stream_and_keeps_its_query_key(
    endpoint: str, expected: str
) -> None:
    assert str(post_url(STREAM, endpoint)) == expected


@pytest.mark.parametrize(
    "endpoint",
    ["https://evil.example/messages", "//evil.example/messages", "http://mcp.example.test/messages"],
)
def test_an_endpoint_on_another_origin_is_refused(endpoint: str) -> None:
    with pytest.raises(ValueError, match="another origin"):
        post_url(STREAM, endpoint)

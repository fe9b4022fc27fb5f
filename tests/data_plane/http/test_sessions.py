"""Legacy-era MCP sessions through the data plane: sealed ids, replicas, streams, refusals.

Real parts only: the official-SDK echo server as upstream (a subprocess), data planes built by
``create_app`` on 127.0.0.1:0, the official client or raw HTTP. Two data planes started with the
same keys are two replicas of one group; :func:`alternating` sends each HTTP request to the
next one, so one session moves between replicas on every request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types
import orjson
import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

from data_plane import errors
from data_plane import keys as app_keys
from data_plane.runtime.sessions import SessionClaims, SessionSealer, token_fingerprint
from tests.data_plane.dpkit import RunningDataPlane, alternating, running_data_plane
from tests.data_plane.kit import NARROW, WIDE, KeyPair

ACCEPT = "application/json, text/event-stream"
VERSION = "2025-11-25"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}


@pytest.fixture(params=["sse", "json"])
def upstream_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_upstream")
    return url


@pytest.fixture
async def dp(keys: KeyPair, tmp_path: Path, upstream_url: str) -> AsyncIterator[RunningDataPlane]:
    async with running_data_plane(keys, tmp_path, upstream_url) as running:
        yield running


@asynccontextmanager
async def replicas(
    keys: KeyPair, tmp_path: Path, upstream_url: str
) -> AsyncIterator[tuple[RunningDataPlane, RunningDataPlane]]:
    """Two data planes of one group (same snapshot and group key, separate state)."""
    async with running_data_plane(keys, tmp_path / "a", upstream_url) as a:
        async with running_data_plane(keys, tmp_path / "b", upstream_url) as b:
            yield a, b


def headers(secret: str = WIDE, token: str | None = None, **extra: str) -> dict[str, str]:
    out = {"Authorization": f"Bearer {secret}", "Accept": ACCEPT, "Content-Type": "application/json"}
    if token is not None:
        out["Mcp-Session-Id"] = token
        out["MCP-Protocol-Version"] = VERSION
    return {**out, **extra}


def answer_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC response in a JSON or SSE answer."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                message: dict[str, Any] = orjson.loads(line[5:])
                if "id" in message and ("result" in message or "error" in message):
                    return message
        raise AssertionError(f"no JSON-RPC response in the stream: {response.text!r}")
    answer: dict[str, Any] = response.json()
    return answer


async def open_session(http: httpx.AsyncClient, url: str, secret: str = WIDE) -> tuple[str, dict[str, Any]]:
    """Initialize a legacy session by hand; returns the client's session id and the result."""
    response = await http.post(url, json=INITIALIZE, headers=headers(secret))
    assert response.status_code == 200, response.text
    token = response.headers["Mcp-Session-Id"]
    result = answer_of(response)["result"]
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    sent = await http.post(url, json=initialized, headers=headers(secret, token))
    assert sent.status_code == 202
    return token, result


def call(tool: str, arguments: dict[str, Any] | None = None, rpc_id: int = 2) -> dict[str, Any]:
    params = {"name": tool, "arguments": arguments or {}}
    return {"jsonrpc": "2.0", "id": rpc_id, "method": "tools/call", "params": params}


def sealer(keys: KeyPair) -> SessionSealer:
    return SessionSealer.from_group_key(keys.group)


async def test_legacy_client_holds_a_sealed_session_id_never_the_upstream_one(
    dp: RunningDataPlane, keys: KeyPair
) -> None:
    sent: set[str] = set()
    received: set[str] = set()

    async def on_request(request: httpx2.Request) -> None:
        if "mcp-session-id" in request.headers:
            sent.add(request.headers["mcp-session-id"])

    async def on_response(response: httpx2.Response) -> None:
        if "mcp-session-id" in response.headers:
            received.add(response.headers["mcp-session-id"])

    hooks = {"request": [on_request], "response": [on_response]}
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {WIDE}"}, event_hooks=hooks) as http:
        async with Client(streamable_http_client(dp.mcp_url(), http_client=http), mode="legacy") as client:
            seen = await client.call_tool("seen_headers", {})
            assert (await client.call_tool("echo", {"text": "still here"})).content[
                0
            ] == mcp_types.TextContent(type="text", text="still here")
    assert isinstance(seen.structured_content, dict)
    upstream_id = seen.structured_content["mcp-session-id"]
    assert len(received) == 1 and sent == received
    token = received.pop()
    assert upstream_id not in token
    claims = sealer(keys).open(token)
    assert claims is not None
    assert (claims.server, claims.upstream_session_id, claims.key_id) == ("py", upstream_id, "k-wide")


async def test_the_negotiated_protocol_version_and_issue_time_are_sealed_into_the_session_id(
    dp: RunningDataPlane, keys: KeyPair
) -> None:
    before = int(time.time())
    async with httpx.AsyncClient(timeout=10) as http:
        token, result = await open_session(http, dp.mcp_url())
        seen = answer_of(
            await http.post(dp.mcp_url(), json=call("seen_headers"), headers=headers(WIDE, token))
        )
        await http.delete(dp.mcp_url(), headers=headers(WIDE, token))
    claims = sealer(keys).open(token)
    assert claims is not None
    assert claims.protocol_version == result["protocolVersion"]
    assert before <= claims.issued_at <= int(time.time())
    assert claims.upstream_session_id == seen["result"]["structuredContent"]["mcp-session-id"]


async def test_one_legacy_session_alternates_between_two_replicas_with_elicitation_and_progress(
    keys: KeyPair, tmp_path: Path, sse_upstream: str
) -> None:
    asked: list[str] = []
    progress: list[tuple[float, float | None, str | None]] = []

    async def elicit(
        context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult:
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"name": "Ada"})

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async with replicas(keys, tmp_path, sse_upstream) as (a, b), alternating(a, b) as (base_url, alternator):
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {WIDE}"}, timeout=10) as http:
            transport = streamable_http_client(f"{base_url}/py/mcp", http_client=http)
            async with Client(transport, mode="legacy", elicitation_callback=elicit) as client:
                greeted = await client.call_tool("ask_name", {})
                counted = await client.call_tool("count", {"steps": 3}, progress_callback=on_progress)
                for n in range(4):
                    echoed = await client.call_tool("echo", {"text": f"hop {n}"})
                    assert echoed.content[0] == mcp_types.TextContent(type="text", text=f"hop {n}")

    assert greeted.content[0] == mcp_types.TextContent(type="text", text="hello Ada")
    assert asked == ["What is your name?"]
    assert counted.structured_content == {"result": 3}
    assert [p[0] for p in progress] == [1, 2, 3]

    in_session = [f for f in alternator.log if f.session_id is not None]
    assert len({f.session_id for f in in_session}) == 1, "one session id for the whole session"
    assert {f.replica for f in in_session} == {0, 1}, "both replicas served the session"
    posts = [(f.replica, orjson.loads(f.body)) for f in in_session if f.method == "POST"]
    ask = next(i for i, (_, m) in enumerate(posts) if m.get("params", {}).get("name") == "ask_name")
    answer = next(i for i, (_, m) in enumerate(posts) if "method" not in m and "result" in m)
    assert posts[answer][1]["result"]["content"] == {"name": "Ada"}
    assert posts[answer][0] != posts[ask][0], "the elicitation answer went through the other replica"


async def test_a_session_id_presented_with_another_key_is_not_found(dp: RunningDataPlane) -> None:
    buffer = dp.app[app_keys.AUDIT_BUFFER]
    async with httpx.AsyncClient(timeout=10) as http:
        token, _ = await open_session(http, dp.mcp_url(), WIDE)
        listing = {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}
        stolen = await http.post(dp.mcp_url(), json=listing, headers=headers(NARROW, token))
        owned = await http.post(dp.mcp_url(), json=listing, headers=headers(WIDE, token))
        await http.delete(dp.mcp_url(), headers=headers(WIDE, token))
    assert stolen.status_code == 404
    assert stolen.json()["id"] == 5
    assert stolen.json()["error"]["code"] == errors.SESSION_NOT_FOUND
    assert owned.status_code == 200 and "tools" in answer_of(owned)["result"]
    refused = [e for e in buffer.take(10_000) if e.status == "not_found"]
    assert [e.key_name for e in refused] == ["narrow"]
    assert token_fingerprint(token) in refused[0].reason
    assert all(token not in str(e) for e in refused)


@pytest.mark.parametrize("where", ["start", "middle", "end"])
async def test_a_tampered_session_id_is_not_found_with_a_json_rpc_error(
    keys: KeyPair, tmp_path: Path, sse_upstream: str, where: str
) -> None:
    async with running_data_plane(keys, tmp_path, sse_upstream) as dp, httpx.AsyncClient(timeout=10) as http:
        token, _ = await open_session(http, dp.mcp_url())
        index = {"start": 0, "middle": len(token) // 2, "end": len(token) - 2}[where]
        tampered = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
        response = await http.post(
            dp.mcp_url(), json=call("echo", {"text": "x"}), headers=headers(WIDE, tampered)
        )
        await http.delete(dp.mcp_url(), headers=headers(WIDE, token))
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == errors.SESSION_NOT_FOUND
    assert response.json()["id"] == 2


async def test_a_session_id_sealed_by_another_group_is_not_found(
    keys: KeyPair, tmp_path: Path, sse_upstream: str
) -> None:
    foreign = SessionSealer.from_group_key(KeyPair().group)
    token = foreign.seal(SessionClaims("py", "whatever", "k-wide", VERSION, int(time.time())))
    async with running_data_plane(keys, tmp_path, sse_upstream) as dp, httpx.AsyncClient(timeout=10) as http:
        response = await http.post(dp.mcp_url(), json=call("echo"), headers=headers(WIDE, token))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == errors.SESSION_NOT_FOUND


async def test_delete_ends_the_session_upstream_and_its_id_then_answers_404(dp: RunningDataPlane) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        token, _ = await open_session(http, dp.mcp_url())
        ended = await http.delete(dp.mcp_url(), headers=headers(WIDE, token))
        after = await http.post(dp.mcp_url(), json=call("echo", {"text": "x"}), headers=headers(WIDE, token))
    assert ended.status_code == 200
    # The upstream's own 404 (unknown session) passes through unchanged: the client re-initializes.
    assert after.status_code == 404
    assert after.json()["error"]["code"] == mcp_types.INVALID_REQUEST
    assert "Mcp-Session-Id" not in after.headers


async def read_events(stream: httpx.Response, count: int) -> list[dict[str, Any]]:
    """The next ``count`` SSE events carrying data: their ``id`` (if any) and parsed data."""
    events: list[dict[str, Any]] = []
    event: dict[str, Any] = {}
    async for line in stream.aiter_lines():
        if line.startswith("id:"):
            event["id"] = line[3:].strip()
        elif line.startswith("data:") and line[5:].strip():
            event["data"] = orjson.loads(line[5:])
        elif not line and "data" in event:
            events.append(event)
            event = {}
            if len(events) == count:
                return events
    raise AssertionError(f"stream ended after {len(events)} events")


async def test_get_stream_carries_a_server_notification_triggered_through_the_other_replica(
    keys: KeyPair, tmp_path: Path, sse_upstream: str
) -> None:
    async with replicas(keys, tmp_path, sse_upstream) as (a, b), httpx.AsyncClient(timeout=10) as http:
        token, _ = await open_session(http, a.mcp_url())
        get_headers = headers(WIDE, token, Accept="text/event-stream")
        async with http.stream("GET", b.mcp_url(), headers=get_headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["Mcp-Session-Id"] == token
            triggered = await http.post(
                a.mcp_url(), json=call("notify_tools_changed"), headers=headers(WIDE, token)
            )
            assert answer_of(triggered)["result"]["content"][0]["text"] == "sent"
            async with asyncio.timeout(10):
                (event,) = await read_events(stream, 1)
        await http.delete(a.mcp_url(), headers=headers(WIDE, token))
    assert event["data"]["method"] == "notifications/tools/list_changed"
    # The client hanging up a GET stream is its normal end, not an error worth an audit event.
    assert [e for e in b.app[app_keys.AUDIT_BUFFER].take(100) if e.method == "GET"] == []


async def test_get_stream_resumes_with_last_event_id_on_the_other_replica(
    keys: KeyPair, tmp_path: Path, resumable_upstream: str
) -> None:
    async with replicas(keys, tmp_path, resumable_upstream) as (a, b), httpx.AsyncClient(timeout=10) as http:
        token, _ = await open_session(http, a.mcp_url())
        get_headers = headers(WIDE, token, Accept="text/event-stream")
        async with http.stream("GET", a.mcp_url(), headers=get_headers) as stream:
            await http.post(a.mcp_url(), json=call("notify_tools_changed"), headers=headers(WIDE, token))
            async with asyncio.timeout(10):
                (first,) = await read_events(stream, 1)
        # Sent while no GET stream is open: the upstream keeps it for the resumed stream.
        await http.post(
            b.mcp_url(), json=call("notify_tools_changed", rpc_id=3), headers=headers(WIDE, token)
        )
        resume_headers = {**get_headers, "Last-Event-ID": first["id"]}
        async with http.stream("GET", b.mcp_url(), headers=resume_headers) as resumed:
            assert resumed.status_code == 200
            async with asyncio.timeout(10):
                (replayed,) = await read_events(resumed, 1)
        await http.delete(b.mcp_url(), headers=headers(WIDE, token))
    assert first["data"]["method"] == replayed["data"]["method"] == "notifications/tools/list_changed"
    assert replayed["id"] != first["id"]


@pytest.mark.parametrize(
    ("origin", "status", "code"),
    [
        ("http://evil.example", 403, errors.ORIGIN_FORBIDDEN),
        ("null", 403, errors.ORIGIN_FORBIDDEN),
        ("http://localhost:6274", 401, errors.UNAUTHENTICATED),
        ("http://127.0.0.1:3000", 401, errors.UNAUTHENTICATED),
        ("https://dp.example.test", 401, errors.UNAUTHENTICATED),
    ],
)
async def test_origin_must_be_the_gateways_own_or_loopback(
    keys: KeyPair, tmp_path: Path, sse_upstream: str, origin: str, status: int, code: int
) -> None:
    # No key on purpose: an allowed Origin gets as far as authentication (401).
    async with running_data_plane(keys, tmp_path, sse_upstream) as dp, httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            dp.mcp_url(), json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Origin": origin}
        )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("host", "status", "code"),
    [
        ("evil.example", 421, errors.HOST_NOT_ALLOWED),
        ("rebound.attacker.test:8080", 421, errors.HOST_NOT_ALLOWED),
        ("localhost:9999", 401, errors.UNAUTHENTICATED),
        ("dp.example.test", 401, errors.UNAUTHENTICATED),
    ],
)
async def test_host_must_name_the_gateway(
    keys: KeyPair, tmp_path: Path, sse_upstream: str, host: str, status: int, code: int
) -> None:
    async with running_data_plane(keys, tmp_path, sse_upstream) as dp, httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            dp.mcp_url(), json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers={"Host": host}
        )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("extra", "status", "code"),
    [
        ({"Mcp-Method": "tools/list"}, 400, errors.HEADER_MISMATCH),
        ({"Mcp-Method": "tools/call", "Mcp-Name": "add"}, 400, errors.HEADER_MISMATCH),
        ({"Mcp-Method": "tools/call"}, 400, errors.HEADER_MISMATCH),
        ({"Mcp-Method": "tools/call", "Mcp-Name": "echo"}, 401, errors.UNAUTHENTICATED),
        ({"Mcp-Method": "tools/call", "Mcp-Name": "=?base64?ZWNobw==?="}, 401, errors.UNAUTHENTICATED),
    ],
)
async def test_mcp_method_and_name_headers_must_match_the_body(
    keys: KeyPair, tmp_path: Path, sse_upstream: str, extra: dict[str, str], status: int, code: int
) -> None:
    assert errors.HEADER_MISMATCH == mcp_types.HEADER_MISMATCH
    async with running_data_plane(keys, tmp_path, sse_upstream) as dp, httpx.AsyncClient(timeout=10) as http:
        response = await http.post(dp.mcp_url(), json=call("echo", {"text": "x"}), headers=extra)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code

"""Stdio upstreams through the real request path, with the official MCP client.

The data plane launches the official-SDK stdio test server (``tests/servers/stdio_server.py``)
in its own pool; clients reach it only through ``/{slug}/mcp``, authenticated and authorized
like any other upstream.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from data_plane import errors
from data_plane import keys as app_keys
from tests.data_plane.dpkit import RunningDataPlane
from tests.data_plane.flows import (
    connected,
    narrow_key_sees_and_calls_only_echo,
    progress_and_elicitation_reach_the_client,
    text_of,
)
from tests.data_plane.http.test_sessions import answer_of, call, headers, open_session, read_events
from tests.data_plane.kit import WIDE, KeyPair, sign
from tests.data_plane.stdio_kit import pool_of, running_stdio_data_plane, stdio_snapshot, until

CANARY = "MCPGW_DP_TEST_CANARY"


@pytest.fixture
async def dp(keys: KeyPair, tmp_path: Path) -> AsyncIterator[RunningDataPlane]:
    async with running_stdio_data_plane(keys, tmp_path) as running:
        yield running


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_client_lists_and_calls_tools_prompts_and_resources_of_a_stdio_server(
    dp: RunningDataPlane, mode: str
) -> None:
    async with connected(dp, mode=mode) as client:
        tools = await client.list_tools()
        echoed = await client.call_tool("echo", {"text": "through stdio"})
        added = await client.call_tool("add", {"a": 2, "b": 40})
        prompt = await client.get_prompt("greet", {"name": "Ada"})
        resource = await client.read_resource("info://server")
    assert {"echo", "add", "exit", "ask_name"} <= {tool.name for tool in tools.tools}
    assert text_of(echoed) == "through stdio"
    assert added.structured_content == {"result": 42}
    assert prompt.messages[0].content == mcp_types.TextContent(type="text", text="Please greet Ada warmly.")
    assert resource.contents[0] == mcp_types.TextResourceContents(
        uri="info://server", mime_type="text/plain", text="mcpgw stdio test server"
    )


async def test_2026_requests_share_a_process_and_open_no_session(dp: RunningDataPlane) -> None:
    session_ids: list[str] = []

    async def on_response(response: httpx2.Response) -> None:
        if "mcp-session-id" in response.headers:
            session_ids.append(response.headers["mcp-session-id"])

    hooks = {"response": [on_response]}
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {WIDE}"}, event_hooks=hooks) as http:
        for _ in range(2):
            transport = streamable_http_client(dp.mcp_url(), http_client=http)
            async with Client(transport, mode="auto") as client:
                pid = (await client.call_tool("pid", {})).structured_content
    assert session_ids == []
    pool = pool_of(dp)
    assert [(c.kind, c.process.pid) for c in pool.channels] == [("shared", pid["result"])]  # type: ignore[index]


async def test_a_narrow_key_sees_and_calls_only_its_tools_on_a_stdio_server(dp: RunningDataPlane) -> None:
    await narrow_key_sees_and_calls_only_echo(dp)


async def test_progress_and_elicitation_reach_the_legacy_client_of_the_session(dp: RunningDataPlane) -> None:
    await progress_and_elicitation_reach_the_client(dp)


async def test_the_child_gets_only_its_configured_environment_never_the_data_planes(
    keys: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CANARY, "data-plane-secret")
    async with running_stdio_data_plane(keys, tmp_path, env={"API_TOKEN": "sealed-token-value"}) as dp:
        async with connected(dp) as client:
            names = (await client.call_tool("env_keys", {})).structured_content
            token = text_of(await client.call_tool("env_value", {"name": "API_TOKEN"}))
    assert names == {"result": ["API_TOKEN", "HOME", "LANG", "PATH"]}
    assert token == "sealed-token-value"
    assert CANARY in os.environ
    assert "sealed-token-value" not in (tmp_path / "exported.jws").read_text()


async def test_the_child_runs_in_the_configured_working_directory(keys: KeyPair, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    async with running_stdio_data_plane(keys, tmp_path, cwd=str(workdir)) as dp, connected(dp) as client:
        cwd = text_of(await client.call_tool("cwd", {}))
    assert Path(cwd) == workdir


async def test_a_legacy_session_sticks_to_one_process_and_each_session_has_its_own(
    dp: RunningDataPlane,
) -> None:
    async with connected(dp) as first, connected(dp) as second:
        first_pids = {(await first.call_tool("pid", {})).structured_content["result"] for _ in range(3)}  # type: ignore[index]
        second_pids = {(await second.call_tool("pid", {})).structured_content["result"] for _ in range(3)}  # type: ignore[index]
        sessions = {c.session_id: c.process.pid for c in pool_of(dp).channels if c.kind == "session"}
    assert len(first_pids) == len(second_pids) == 1
    assert first_pids != second_pids
    assert set(sessions.values()) == first_pids | second_pids


async def test_a_crash_answers_the_request_in_flight_with_an_error_and_a_new_session_gets_a_new_process(
    dp: RunningDataPlane,
) -> None:
    async with httpx.AsyncClient(timeout=20) as http:
        token, _ = await open_session(http, dp.mcp_url())
        before = (await http.post(dp.mcp_url(), json=call("pid"), headers=headers(WIDE, token))).json()
        crashed = await http.post(
            dp.mcp_url(), json=call("exit", {"code": 3}, rpc_id=7), headers=headers(WIDE, token)
        )
        after = await http.post(dp.mcp_url(), json=call("echo", {"text": "x"}), headers=headers(WIDE, token))
    assert crashed.status_code == 200
    assert crashed.json()["id"] == 7
    assert crashed.json()["error"]["code"] == errors.UPSTREAM_UNREACHABLE
    assert after.status_code == 404, "the session died with its process: the client re-initializes"
    async with connected(dp) as client:
        pid = (await client.call_tool("pid", {})).structured_content
    assert pid != before["result"]["structuredContent"]


async def test_another_replica_answers_404_for_a_session_whose_process_it_does_not_run(
    keys: KeyPair, tmp_path: Path
) -> None:
    async with (
        running_stdio_data_plane(keys, tmp_path / "a") as a,
        running_stdio_data_plane(keys, tmp_path / "b") as b,
        httpx.AsyncClient(timeout=20) as http,
    ):
        token, _ = await open_session(http, a.mcp_url())
        here = await http.post(a.mcp_url(), json=call("echo", {"text": "a"}), headers=headers(WIDE, token))
        there = await http.post(b.mcp_url(), json=call("echo", {"text": "b"}), headers=headers(WIDE, token))
        await http.delete(a.mcp_url(), headers=headers(WIDE, token))
    assert here.status_code == 200
    assert there.status_code == 404
    assert there.json()["id"] == 2 and "error" in there.json()


async def test_max_processes_bounds_the_sessions_and_delete_frees_a_process(
    keys: KeyPair, tmp_path: Path
) -> None:
    async with (
        running_stdio_data_plane(keys, tmp_path, max_processes=1) as dp,
        httpx.AsyncClient(timeout=20) as http,
    ):
        token, _ = await open_session(http, dp.mcp_url())
        refused = await http.post(dp.mcp_url(), json=call("echo"), headers=headers(WIDE))
        second_try = await http.post(
            dp.mcp_url(),
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _init_params()},
            headers=headers(WIDE),
        )
        ended = await http.delete(dp.mcp_url(), headers=headers(WIDE, token))
        reopened, _ = await open_session(http, dp.mcp_url())
        await http.delete(dp.mcp_url(), headers=headers(WIDE, reopened))
    assert refused.status_code == 400, "a legacy request without a session is refused"
    assert second_try.status_code == 503
    assert second_try.json()["error"]["code"] == errors.UPSTREAM_UNREACHABLE
    assert "max_processes" in second_try.json()["error"]["message"]
    assert ended.status_code == 200
    assert reopened != token


def _init_params() -> dict[str, Any]:
    return {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    }


async def test_an_idle_session_process_is_stopped_and_its_session_ends(keys: KeyPair, tmp_path: Path) -> None:
    async with (
        running_stdio_data_plane(keys, tmp_path, idle_timeout_seconds=0.2) as dp,
        httpx.AsyncClient(timeout=20) as http,
    ):
        token, _ = await open_session(http, dp.mcp_url())
        pool = pool_of(dp)
        await until(pool, lambda: not pool.channels)
        after = await http.post(dp.mcp_url(), json=call("echo", {"text": "x"}), headers=headers(WIDE, token))
    assert after.status_code == 404


async def test_min_processes_are_started_ahead_and_a_crashed_one_is_restarted(
    keys: KeyPair, tmp_path: Path
) -> None:
    async with running_stdio_data_plane(keys, tmp_path, min_processes=2) as dp:
        pool = pool_of(dp)
        await until(pool, lambda: len(pool.channels) == 2)
        first = {c.process.pid for c in pool.channels}
        async with connected(dp, mode="auto") as client:
            with pytest.raises(MCPError):
                await client.call_tool("exit", {"code": 3})
        await until(pool, lambda: len(pool.channels) == 2 and {c.process.pid for c in pool.channels} != first)
    assert all(c.kind in ("fresh", "shared") for c in pool.channels)


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


async def test_stderr_goes_to_the_debug_log_rate_limited_and_never_into_the_answer(
    dp: RunningDataPlane, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="data_plane.runtime.stdio.process")
    async with connected(dp) as client:
        shouted = await client.call_tool("shout", {"times": 50})
    # Leaving ends the session: DELETE stops the process, which waits until its stderr is read.
    logged = [r for r in caplog.records if "stderr line" in r.getMessage()]
    assert "stderr" not in str(shouted.model_dump())
    assert 1 <= len(logged) <= 20
    assert all(r.levelname == "DEBUG" for r in logged)


async def test_a_reconfigured_stdio_server_gets_new_processes_and_old_sessions_end(
    keys: KeyPair, tmp_path: Path
) -> None:
    async with (
        running_stdio_data_plane(keys, tmp_path, env={"COLOR": "red"}) as dp,
        httpx.AsyncClient(timeout=20) as http,
    ):
        token, _ = await open_session(http, dp.mcp_url())
        old_pool = pool_of(dp)
        changed = stdio_snapshot(keys, version="2", env={"COLOR": "blue"})
        await dp.app[app_keys.STORE].apply(sign(changed, keys), version="2", hash=changed.hash)
        stale = await http.post(dp.mcp_url(), json=call("echo", {"text": "x"}), headers=headers(WIDE, token))
        async with connected(dp) as client:
            color = text_of(await client.call_tool("env_value", {"name": "COLOR"}))
        await until(old_pool, lambda: not old_pool.channels)
        assert pool_of(dp) is not old_pool
    assert stale.status_code == 404
    assert color == "blue"


async def test_a_command_that_cannot_start_is_answered_with_a_json_rpc_error(
    keys: KeyPair, tmp_path: Path
) -> None:
    async with (
        running_stdio_data_plane(keys, tmp_path, command="/nonexistent/mcp-server", args=[]) as dp,
        httpx.AsyncClient(timeout=20) as http,
    ):
        response = await http.post(
            dp.mcp_url(),
            json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _init_params()},
            headers=headers(WIDE),
        )
    assert response.status_code == 502
    assert response.json()["id"] == 1
    assert response.json()["error"]["code"] == errors.UPSTREAM_UNREACHABLE
    assert "cannot be started" in response.json()["error"]["message"]
    assert "Mcp-Session-Id" not in response.headers


async def test_sessions_opened_at_the_same_time_get_a_process_each(dp: RunningDataPlane) -> None:
    async with httpx.AsyncClient(timeout=20) as http:
        opened = await asyncio.gather(*(open_session(http, dp.mcp_url()) for _ in range(3)))
        tokens = [token for token, _ in opened]
        pids = [
            answer_of(await http.post(dp.mcp_url(), json=call("pid"), headers=headers(WIDE, token)))["result"]
            for token in tokens
        ]
        for token in tokens:
            await http.delete(dp.mcp_url(), headers=headers(WIDE, token))
    assert len({pid["structuredContent"]["result"] for pid in pids}) == 3

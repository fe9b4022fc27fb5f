"""The authorization webhook, asked by the data plane before each call the grants allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from mcp.shared.exceptions import MCPError

from data_plane import errors
from shared.access import KEY_SCOPE
from shared.sealing import seal
from shared.snapshot import Sealed
from shared.snapshot.access import AccessSection, AuthzWebhookEntry
from tests.data_plane.dpkit import RunningDataPlane, running_data_plane, serving
from tests.data_plane.http.test_access import client_for
from tests.data_plane.kit import WIDE, KeyPair

HOOK_TOKEN = "hook-token-value-7"


class Hook:
    """A decision service: refuses ``add`` with a reason, allows the rest; or fails with 500."""

    def __init__(self) -> None:
        self.questions: list[dict[str, Any]] = []
        self.tokens: list[str | None] = []
        self.broken = False

    async def handle(self, request: web.Request) -> web.Response:
        question = await request.json()
        self.questions.append(question)
        self.tokens.append(request.headers.get("X-Hook-Token"))
        if self.broken:
            return web.Response(status=500, text="down")
        if question["name"] == "add":
            return web.json_response({"allow": False, "reason": "adding is closed today"})
        return web.json_response({"allow": True})


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Hook, str]]:
    decisions = Hook()
    app = web.Application()
    app.router.add_post("/decide", decisions.handle)
    async with serving(app) as base_url:
        yield decisions, f"{base_url}/decide"


@asynccontextmanager
async def _data_plane(
    keys: KeyPair, tmp_path: Path, upstream: str, url: str, **settings: Any
) -> AsyncIterator[RunningDataPlane]:
    entry = AuthzWebhookEntry(
        url=url, headers={"X-Hook-Token": Sealed(sealed=seal(HOOK_TOKEN, keys.group_public))}, **settings
    )
    async with running_data_plane(
        keys, tmp_path, upstream, access=AccessSection(webhooks={"demo": entry})
    ) as running:
        yield running


async def test_the_webhook_decides_after_the_grants_and_its_answer_is_cached(
    keys: KeyPair, tmp_path: Path, json_upstream: str, hook: tuple[Hook, str]
) -> None:
    decisions, url = hook
    async with _data_plane(keys, tmp_path, json_upstream, url, cache_seconds=60) as dp:
        async with client_for(dp.mcp_url(), WIDE) as client:
            assert (await client.call_tool("echo", {"text": "a"})).content
            with pytest.raises(MCPError) as refused:
                await client.call_tool("add", {"a": 1, "b": 2})
            assert refused.value.code == errors.TOOL_FORBIDDEN
            assert "adding is closed today" in refused.value.message
            assert refused.value.data is not None and refused.value.data["rule"] == "webhook:demo"
            asked = len(decisions.questions)
            await client.call_tool("echo", {"text": "a"})  # same question: answered from the cache
            assert len(decisions.questions) == asked
            await client.call_tool("echo", {"text": "b"})  # other arguments: asked again
            assert len(decisions.questions) == asked + 1
            await client.list_tools()  # not a call: the webhook is not asked
            assert len(decisions.questions) == asked + 1
    first = decisions.questions[0]
    assert first["principal"]["id"] == "k-wide" and first["server"] == "py"
    assert (first["method"], first["kind"], first["name"]) == ("tools/call", "tool", "echo")
    assert first["arguments"] == {"text": "a"} and first["rule"] == KEY_SCOPE and first["snapshot_version"]
    assert set(decisions.tokens) == {HOOK_TOKEN}


@pytest.mark.parametrize(("mode", "allowed"), [("deny", False), ("allow", True)])
async def test_a_failing_webhook_decides_by_its_failure_mode_and_is_asked_again(
    keys: KeyPair, tmp_path: Path, json_upstream: str, hook: tuple[Hook, str], mode: str, allowed: bool
) -> None:
    decisions, url = hook
    decisions.broken = True
    async with _data_plane(keys, tmp_path, json_upstream, url, failure_mode=mode, cache_seconds=60) as dp:
        async with client_for(dp.mcp_url(), WIDE) as client:
            for _ in range(2):
                if allowed:
                    assert (await client.call_tool("echo", {"text": "a"})).content
                else:
                    with pytest.raises(MCPError) as refused:
                        await client.call_tool("echo", {"text": "a"})
                    assert refused.value.data is not None
                    assert refused.value.data["rule"] == "webhook:demo:failure-deny"
                    assert "HTTP 500" in refused.value.message
    # a failure is never cached: both calls asked
    assert len(decisions.questions) == 2


async def test_an_unreachable_webhook_fails_closed_by_default(
    keys: KeyPair, tmp_path: Path, json_upstream: str
) -> None:
    async with _data_plane(
        keys, tmp_path, json_upstream, "http://127.0.0.1:9/decide", timeout_seconds=1
    ) as dp:
        async with client_for(dp.mcp_url(), WIDE) as client:
            with pytest.raises(MCPError) as refused:
                await client.call_tool("echo", {"text": "a"})
    assert refused.value.code == errors.TOOL_FORBIDDEN
    assert "unreachable" in refused.value.message

"""Virtual servers through the real request path: the official MCP client, the data plane and
three official-SDK upstreams composed behind one endpoint."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types
import pytest
from aiohttp import web
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from data_plane import errors
from data_plane import keys as app_keys
from data_plane.app import create_app
from shared.apikeys import hash_secret
from shared.composition import exposed_name
from shared.snapshot import (
    KeyEntry,
    ServerEntry,
    Snapshot,
    VirtualMember,
    VirtualServerEntry,
    with_content_hash,
)
from tests.conftest import free_port
from tests.data_plane.dpkit import dp_settings, serving
from tests.data_plane.kit import KeyPair, sign
from tests.e2e.processes import stop_process
from tests.servers.wide_server import LONG_TOOL

REPO = Path(__file__).resolve().parents[3]
FULL = "mcpgw_test_full_0123456789abcdefghijk"
ONLY_ADD = "mcpgw_test_onlyadd_0123456789abcdefg"
OUTSIDER = "mcpgw_test_outsider_0123456789abcdef"
SHORTENED = exposed_name("wide", LONG_TOOL)


@dataclass
class Upstream:
    """An official-SDK server in a child process, stoppable and restartable on its port."""

    module: str
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "--port", str(self.port)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, f"{self.module} exited"
            try:
                httpx.get(self.url, timeout=1)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{self.module} did not start within 20s"
                time.sleep(0.05)  # bounded poll for a child process to listen

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@pytest.fixture(scope="module")
def alpha() -> Iterator[Upstream]:
    upstream = Upstream("tests.servers.echo_server", free_port())
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def wide() -> Iterator[Upstream]:
    upstream = Upstream("tests.servers.wide_server", free_port())
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture
def beta() -> Iterator[Upstream]:
    upstream = Upstream("tests.servers.echo_server", free_port())
    upstream.start()
    yield upstream
    upstream.stop()


def snapshot(keys: KeyPair, alpha: Upstream, wide: Upstream, beta: Upstream) -> Snapshot:
    servers = {
        "alpha": ServerEntry(id="s-alpha", workspace="demo", url=alpha.url, timeout_seconds=10),
        "wide": ServerEntry(id="s-wide", workspace="demo", url=wide.url, timeout_seconds=10),
        "beta": ServerEntry(id="s-beta", workspace="demo", url=beta.url, timeout_seconds=10),
    }
    virtual = VirtualServerEntry(
        id="v-combo",
        workspace="demo",
        name="combo",
        instructions="Everything in one place.",
        members=[
            VirtualMember(
                server="alpha",
                prefix="alpha",
                tools=["echo", "add", "ask_name", "notify_tools_changed"],
                renames={"echo": "say"},
                descriptions={"add": "Adds, via the gateway."},
            ),
            VirtualMember(server="wide", prefix="wide"),
            VirtualMember(server="beta", prefix="beta", tools=["add"]),
        ],
    )
    all_members: dict[str, list[str] | None] = {"alpha": None, "wide": None, "beta": None}
    entries = {
        hash_secret(FULL): KeyEntry(id="k-full", name="full", workspace="demo", servers=all_members),
        hash_secret(ONLY_ADD): KeyEntry(
            id="k-only-add", name="only-add", workspace="demo", servers={"alpha": ["add"]}
        ),
        hash_secret(OUTSIDER): KeyEntry(id="k-outsider", name="outsider", workspace="demo", servers={}),
    }
    draft = Snapshot(
        version="1",
        hash="",
        group="default",
        created_at=int(time.time()),
        servers=servers,
        keys=entries,
        virtual_servers={"combo": virtual},
    )
    return with_content_hash(draft)


@pytest.fixture
async def combo(
    keys: KeyPair, tmp_path: Path, alpha: Upstream, wide: Upstream, beta: Upstream
) -> AsyncIterator[tuple[str, web.Application]]:
    snapshot_file = tmp_path / "exported.jws"
    snapshot_file.write_text(sign(snapshot(keys, alpha, wide, beta), keys))
    app = create_app(dp_settings(keys, tmp_path, snapshot_file=snapshot_file))
    async with serving(app) as base_url:
        yield f"{base_url}/combo/mcp", app


@pytest.fixture
def combo_url(combo: tuple[str, web.Application]) -> str:
    return combo[0]


@asynccontextmanager
async def connect(url: str, secret: str, mode: str = "legacy", **callbacks: Any) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=15) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, **callbacks) as client:
            yield client


def text_of(result: mcp_types.CallToolResult) -> str:
    content = result.content[0]
    assert isinstance(content, mcp_types.TextContent)
    return content.text


EVERY_TOOL = {
    "say",
    "alpha__add",
    "alpha__ask_name",
    "alpha__notify_tools_changed",
    "wide__echo",
    SHORTENED,
    "beta__add",
}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_one_endpoint_lists_every_members_tools_namespaced_renamed_and_redescribed(
    combo_url: str, mode: str
) -> None:
    async with connect(combo_url, FULL, mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == EVERY_TOOL
        assert tools["alpha__add"].description == "Adds, via the gateway."
        assert tools["wide__echo"].description == "Echo the given text back, from the wide server."
        assert text_of(await client.call_tool("say", {"text": "hi"})) == "hi"
        assert text_of(await client.call_tool("wide__echo", {"text": "hi"})) == "wide: hi"
        assert (await client.call_tool("beta__add", {"a": 2, "b": 40})).structured_content == {"result": 42}


def test_a_tool_name_past_64_characters_is_shortened_deterministically() -> None:
    assert len(f"wide__{LONG_TOOL}") > 64
    assert len(SHORTENED) == 64
    assert SHORTENED.startswith("wide__summarize_the_quarterly")
    assert exposed_name("wide", LONG_TOOL) == SHORTENED


async def test_a_shortened_tool_is_called_by_its_original_name_upstream(combo_url: str) -> None:
    async with connect(combo_url, FULL) as client:
        assert text_of(await client.call_tool(SHORTENED, {"text": "q3"})) == "summary of q3"


async def test_a_renamed_tool_is_not_callable_by_its_generated_name_nor_a_hidden_one(combo_url: str) -> None:
    async with connect(combo_url, FULL) as client:
        for name in ("alpha__echo", "alpha__seen_headers", "beta__echo", "nobody__echo", "echo"):
            with pytest.raises(MCPError) as unknown:
                await client.call_tool(name, {"text": "x"})
            assert unknown.value.code == -32602, name


async def test_prompts_and_resources_of_every_member_are_merged_and_routed(combo_url: str) -> None:
    async with connect(combo_url, FULL) as client:
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert {"alpha__greeting", "alpha__incident", "wide__greeting"} <= prompts
        assert "beta__greeting" in prompts  # a tool subset narrows tools only
        wide_prompt = await client.get_prompt("wide__greeting", {"name": "Ada"})
        assert wide_prompt.messages[0].content == mcp_types.TextContent(type="text", text="Wave at Ada.")
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        assert {"wide://notes/today", "file:///docs/readme.md"} <= resources
        read = await client.read_resource("wide://notes/today")
        assert read.contents[0].text == "wide notes"  # type: ignore[union-attr]
        templated = await client.read_resource("file:///docs/intro")
        assert templated.contents[0].text == "# intro"  # type: ignore[union-attr]


async def test_a_completion_goes_to_the_member_of_its_prompt_or_resource_template(combo_url: str) -> None:
    prompt = mcp_types.PromptReference(type="ref/prompt", name="alpha__incident")
    template = mcp_types.ResourceTemplateReference(type="ref/resource", uri="file:///docs/{page}")
    async with connect(combo_url, FULL) as client:
        by_prompt = await client.complete(prompt, {"name": "service", "value": "a"})
        by_template = await client.complete(template, {"name": "page", "value": "in"})
        for unknown_ref in (
            mcp_types.PromptReference(type="ref/prompt", name="incident"),  # not its exposed name
            mcp_types.PromptReference(type="ref/prompt", name="nobody__incident"),
            mcp_types.ResourceTemplateReference(type="ref/resource", uri="file:///nowhere/{x}"),
        ):
            with pytest.raises(MCPError) as unknown:
                await client.complete(unknown_ref, {"name": "service", "value": ""})
            assert unknown.value.code == -32602, unknown_ref
    assert by_prompt.completion.values == ["api", "auth"]  # asked of alpha as "incident"
    assert by_template.completion.values == ["install", "intro"]


async def test_audit_names_the_member_and_original_tool_and_the_virtual_server_as_via(
    combo: tuple[str, web.Application],
) -> None:
    url, app = combo
    async with connect(url, FULL) as client:
        await client.list_tools()
        await client.call_tool("say", {"text": "hi"})
        with pytest.raises(MCPError):
            await client.call_tool("nobody__echo", {"text": "x"})
    async with connect(url, ONLY_ADD) as client:
        with pytest.raises(MCPError):
            await client.call_tool("wide__echo", {"text": "x"})
    events = app[app_keys.AUDIT_BUFFER].take(10_000)
    seen = {(e.method, e.key_name, e.server, e.tool, e.via, e.status) for e in events}
    assert ("tools/list", "full", "combo", "", "combo", "ok") in seen
    assert ("tools/call", "full", "alpha", "echo", "combo", "ok") in seen  # exposed as "say"
    assert ("tools/call", "full", "combo", "nobody__echo", "combo", "error") in seen  # routed nowhere
    assert ("tools/call", "only-add", "wide", "echo", "combo", "denied") in seen


async def test_a_caller_sees_and_calls_through_the_virtual_server_only_what_it_may_directly(
    combo_url: str,
) -> None:
    async with connect(combo_url, ONLY_ADD) as client:
        assert {t.name for t in (await client.list_tools()).tools} == {"alpha__add"}
        assert (await client.call_tool("alpha__add", {"a": 1, "b": 2})).structured_content == {"result": 3}
        for name in ("wide__echo", "beta__add", "say"):
            with pytest.raises(MCPError) as refused:
                await client.call_tool(name, {"text": "x", "a": 1, "b": 2})
            assert refused.value.code == errors.TOOL_FORBIDDEN, name
            assert refused.value.data["rule"] == "key-scope", name  # type: ignore[index]


async def test_a_caller_allowed_on_no_member_is_refused_the_virtual_server(combo_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        init = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        answer = await http.post(
            combo_url,
            json=init,
            headers={"Authorization": f"Bearer {OUTSIDER}", "Accept": "application/json, text/event-stream"},
        )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == errors.SERVER_FORBIDDEN


async def test_a_stopped_member_drops_out_while_the_others_serve_and_comes_back_when_restarted(
    combo_url: str, beta: Upstream
) -> None:
    async with connect(combo_url, FULL) as client:
        assert "beta__add" in {t.name for t in (await client.list_tools()).tools}
        beta.stop()
        assert {t.name for t in (await client.list_tools()).tools} == EVERY_TOOL - {"beta__add"}
        assert text_of(await client.call_tool("say", {"text": "still here"})) == "still here"
        with pytest.raises(MCPError) as unreachable:
            await client.call_tool("beta__add", {"a": 1, "b": 1})
        assert unreachable.value.code == errors.UPSTREAM_UNREACHABLE
        beta.start()
        assert {t.name for t in (await client.list_tools()).tools} == EVERY_TOOL
        assert (await client.call_tool("beta__add", {"a": 1, "b": 1})).structured_content == {"result": 2}
    beta.stop()
    async with connect(combo_url, FULL) as fresh:  # a session opened while a member is down
        assert "beta__add" not in {t.name for t in (await fresh.list_tools()).tools}
        beta.start()
        assert (await fresh.call_tool("beta__add", {"a": 2, "b": 2})).structured_content == {"result": 4}


async def test_a_members_elicitation_is_answered_through_the_virtual_server(combo_url: str) -> None:
    async def elicit(context: Any, params: mcp_types.ElicitRequestParams) -> mcp_types.ElicitResult:
        return mcp_types.ElicitResult(action="accept", content={"name": "Ada"})

    async with connect(combo_url, FULL, elicitation_callback=elicit) as client:
        assert text_of(await client.call_tool("alpha__ask_name", {})) == "hello Ada"


async def test_a_members_list_changed_notification_reaches_the_client(combo_url: str) -> None:
    changed = asyncio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            changed.set()

    async with connect(combo_url, FULL, message_handler=on_message) as client:
        await client.call_tool("alpha__notify_tools_changed", {})
        async with asyncio.timeout(10):
            await changed.wait()

"""Access control through the real request path: the official MCP client, the data plane and an
official-SDK upstream; a table of principals x tools, prompts and resources under a rule set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from data_plane import errors
from data_plane.keys import STORE
from shared.access import DEFAULT_DENY, DISABLED_USER, KEY_SCOPE
from shared.apikeys import hash_secret
from shared.snapshot import KeyEntry, ToolEntry
from shared.snapshot.access import AccessSection, Grant, Selection, TeamEntry, UserEntry
from tests.data_plane.dpkit import RunningDataPlane, running_data_plane
from tests.data_plane.kit import NARROW, KeyPair

ALICE = "mcpgw_test_alice_0123456789abcdefghij"
BOB = "mcpgw_test_bob_0123456789abcdefghijkl"
BOT = "mcpgw_test_bot_0123456789abcdefghijkl"
CAROL = "mcpgw_test_carol_0123456789abcdefghij"

TOOLS = {
    "echo": ToolEntry(annotations={"readOnlyHint": True}),
    "add": ToolEntry(annotations={"readOnlyHint": True, "destructiveHint": False}),
    "seen_headers": ToolEntry(),
}
ACCESS = AccessSection(
    grants=[
        Grant(
            id="1",
            name="eng-read-only",
            subject="team:t-eng",
            server="py",
            annotations={"readOnlyHint": True},
        ),
        Grant(
            id="2",
            name="everyone-greeting",
            subject="workspace:demo",
            server="py",
            prompts=Selection(include=["greeting"]),
        ),
        Grant(
            id="3",
            name="alice-docs",
            subject="user:u-alice",
            server="py",
            resources=Selection(include=["file:///docs/*"]),
        ),
        Grant(id="4", name="bob-tools", subject="user:u-bob", server="py", tools=Selection(include=["*"])),
        Grant(
            id="5",
            name="bob-no-add",
            subject="user:u-bob",
            server="py",
            effect="deny",
            tools=Selection(include=["add"]),
        ),
    ],
    users={
        "u-alice": UserEntry(id="u-alice", email="alice@demo.test", workspaces=["demo"], teams=["t-eng"]),
        "u-bob": UserEntry(id="u-bob", email="bob@demo.test", workspaces=["demo"]),
        "u-carol": UserEntry(
            id="u-carol", email="carol@demo.test", workspaces=["demo"], teams=["t-eng"], disabled=True
        ),
    },
    teams={"t-eng": TeamEntry(id="t-eng", slug="eng", workspace="demo")},
)
KEYS = {
    hash_secret(ALICE): KeyEntry(
        id="k-alice", name="alice-cli", workspace="demo", servers={}, user="u-alice"
    ),
    hash_secret(BOB): KeyEntry(id="k-bob", name="bob-cli", workspace="demo", servers={}, user="u-bob"),
    hash_secret(BOT): KeyEntry(id="k-bot", name="bot", workspace="demo", servers={}),
    hash_secret(CAROL): KeyEntry(
        id="k-carol", name="carol-cli", workspace="demo", servers={}, user="u-carol"
    ),
}

ITEMS = [
    "tool:echo",
    "tool:add",
    "tool:seen_headers",
    "prompt:greeting",
    "prompt:incident",
    "resource:file:///docs/readme.md",
    "resource:file:///secret/keys.txt",
]
# principal -> item -> the rule that decides (allowed when it is a grant or key scope that allows)
MATRIX: dict[str, dict[str, tuple[bool, str]]] = {
    ALICE: {
        "tool:echo": (True, "grant:eng-read-only"),
        "tool:add": (True, "grant:eng-read-only"),
        "tool:seen_headers": (False, DEFAULT_DENY),
        "prompt:greeting": (True, "grant:everyone-greeting"),
        "prompt:incident": (False, DEFAULT_DENY),
        "resource:file:///docs/readme.md": (True, "grant:alice-docs"),
        "resource:file:///secret/keys.txt": (False, DEFAULT_DENY),
    },
    BOB: {
        "tool:echo": (True, "grant:bob-tools"),
        "tool:add": (False, "grant:bob-no-add"),
        "tool:seen_headers": (True, "grant:bob-tools"),
        "prompt:greeting": (True, "grant:everyone-greeting"),
        "prompt:incident": (False, DEFAULT_DENY),
        "resource:file:///docs/readme.md": (False, DEFAULT_DENY),
        "resource:file:///secret/keys.txt": (False, DEFAULT_DENY),
    },
    NARROW: {  # a workspace key scoped to py:echo: its scope grants the server's prompts and resources
        "tool:echo": (True, KEY_SCOPE),
        "tool:add": (False, KEY_SCOPE),
        "tool:seen_headers": (False, KEY_SCOPE),
        "prompt:greeting": (True, KEY_SCOPE),
        "prompt:incident": (True, KEY_SCOPE),
        "resource:file:///docs/readme.md": (True, KEY_SCOPE),
        "resource:file:///secret/keys.txt": (True, KEY_SCOPE),
    },
    BOT: {  # a workspace key without scope: only what its workspace is granted
        "tool:echo": (False, DEFAULT_DENY),
        "tool:add": (False, DEFAULT_DENY),
        "tool:seen_headers": (False, DEFAULT_DENY),
        "prompt:greeting": (True, "grant:everyone-greeting"),
        "prompt:incident": (False, DEFAULT_DENY),
        "resource:file:///docs/readme.md": (False, DEFAULT_DENY),
        "resource:file:///secret/keys.txt": (False, DEFAULT_DENY),
    },
}
ARGUMENTS: dict[str, dict[str, Any]] = {"echo": {"text": "hi"}, "add": {"a": 1, "b": 2}, "seen_headers": {}}


@pytest.fixture(params=["in-memory", "tables"])
async def dp(
    keys: KeyPair, tmp_path: Path, json_upstream: str, request: pytest.FixtureRequest
) -> AsyncIterator[RunningDataPlane]:
    """The data plane under test, with the snapshot compiled in memory, or (as a large one is)
    into tables whose keys, servers and grants are compiled on first use."""
    async with running_data_plane(
        keys,
        tmp_path,
        json_upstream,
        tables=request.param == "tables",
        access=ACCESS,
        tools=TOOLS,
        extra_keys=KEYS,
    ) as running:
        store = running.app[STORE]
        assert store.current is not None
        assert (store.current.tables is not None) == (request.param == "tables")
        yield running


@asynccontextmanager
async def client_for(url: str, secret: str, mode: str = "legacy") -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=10) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


async def use(client: Client, item: str) -> None:
    kind, _, name = item.partition(":")
    if kind == "tool":
        await client.call_tool(name, ARGUMENTS[name])
    elif kind == "prompt":
        await client.get_prompt(name, {"name": "x"} if name == "greeting" else {"service": "x"})
    else:
        await client.read_resource(name)


@pytest.mark.parametrize("secret", list(MATRIX), ids=["alice", "bob", "narrow-key", "workspace-key"])
async def test_every_principal_reaches_exactly_what_its_rules_allow(
    dp: RunningDataPlane, secret: str
) -> None:
    expected = MATRIX[secret]
    async with client_for(dp.mcp_url(), secret) as client:
        for item in ITEMS:
            allowed, rule = expected[item]
            if allowed:
                await use(client, item)
                continue
            with pytest.raises(MCPError) as refused:
                await use(client, item)
            assert refused.value.code == errors.TOOL_FORBIDDEN, item
            assert refused.value.data == {"reason": refused.value.message, "rule": rule}, item

        tools = {t.name for t in (await client.list_tools()).tools} & set(ARGUMENTS)
        assert tools == {i.split(":")[1] for i in ITEMS if i.startswith("tool:") and expected[i][0]}
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert prompts == {i.split(":")[1] for i in ITEMS if i.startswith("prompt:") and expected[i][0]}
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        assert resources == {
            i.split(":", 1)[1] for i in ITEMS if i.startswith("resource:") and expected[i][0]
        }


async def refused_session(url: str, secret: str) -> MCPError:
    """The error the client's session set-up (``initialize``) fails with."""
    try:
        async with client_for(url, secret):
            pass
    except MCPError as exc:
        return exc
    except BaseExceptionGroup as group:  # the SDK's task group wraps it
        found = group.subgroup(MCPError)
        while found is not None:
            inner = found.exceptions[0]
            if isinstance(inner, MCPError):
                return inner
            found = inner.subgroup(MCPError) if isinstance(inner, BaseExceptionGroup) else None
    raise AssertionError("the session was not refused")


async def test_a_disabled_users_key_is_refused_at_the_server_with_its_rule(dp: RunningDataPlane) -> None:
    refused = await refused_session(dp.mcp_url(), CAROL)
    assert refused.code == errors.SERVER_FORBIDDEN
    assert refused.data is not None and refused.data["rule"] == DISABLED_USER


async def test_a_principal_without_any_grant_on_a_server_is_refused_there(dp: RunningDataPlane) -> None:
    refused = await refused_session(dp.mcp_url("other"), ALICE)
    assert refused.code == errors.SERVER_FORBIDDEN
    assert "'other'" in refused.message and refused.data is not None
    assert refused.data["rule"] == DEFAULT_DENY


async def test_a_listen_may_name_only_resources_the_caller_may_read(dp: RunningDataPlane) -> None:
    readme, secret = "file:///docs/readme.md", "file:///secret/keys.txt"
    async with client_for(dp.mcp_url(), ALICE, mode="auto") as client:
        async with client.listen(tools_list_changed=True, resource_subscriptions=[readme]) as sub:
            assert sub.honored.resource_subscriptions == [readme]
        with pytest.raises(MCPError) as refused:
            async with client.listen(resource_subscriptions=[readme, secret]):
                pass
    assert refused.value.error.code == errors.TOOL_FORBIDDEN
    assert secret in refused.value.error.message
    assert refused.value.error.data["rule"] == DEFAULT_DENY  # type: ignore[index]

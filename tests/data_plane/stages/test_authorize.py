"""The authorize stage: key scopes, grants, deny rules, prompts, resources and list filtering."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.stages.authenticate import authenticate
from data_plane.stages.authorize import authorize
from data_plane.stages.parse import parse
from shared.access import DEFAULT_DENY, KEY_SCOPE
from shared.apikeys import hash_secret
from shared.snapshot import KeyEntry, ToolEntry
from shared.snapshot.access import AccessSection, Grant, Selection, TeamEntry, UserEntry
from tests.data_plane.kit import ELSEWHERE, NARROW, WIDE, KeyPair, bearer, compiled, context

ALICE = "mcpgw_test_alice_0123456789abcdefghij"
BOT = "mcpgw_test_bot_0123456789abcdefghijkl"
TOOLS = {
    "echo": ToolEntry(annotations={"readOnlyHint": True}),
    "add": ToolEntry(annotations={"readOnlyHint": True}),
    "wipe": ToolEntry(annotations={"destructiveHint": True}),
}
ACCESS = AccessSection(
    grants=[
        Grant(
            id="g1", name="team-read", subject="team:t-eng", server="py", annotations={"readOnlyHint": True}
        ),
        Grant(id="g2", name="ws-all", subject="workspace:demo", server="other"),
        Grant(
            id="g3",
            name="docs-only",
            subject="user:u-alice",
            server="py",
            prompts=Selection(include=["summary"]),
            resources=Selection(include=["file:///docs/*"]),
        ),
        Grant(
            id="g4",
            name="no-wipe",
            subject="workspace:demo",
            server="py",
            effect="deny",
            tools=Selection(include=["wipe"]),
        ),
    ],
    users={"u-alice": UserEntry(id="u-alice", workspaces=["demo"], teams=["t-eng"])},
    teams={"t-eng": TeamEntry(id="t-eng", slug="eng", workspace="demo")},
)
EXTRA = {
    hash_secret(ALICE): KeyEntry(id="k-alice", name="alice", workspace="demo", servers={}, user="u-alice"),
    hash_secret(BOT): KeyEntry(id="k-bot", name="bot", workspace="demo", servers={}),
}


def rpc(method: str, params: dict[str, Any] | None = None) -> bytes:
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        message["params"] = params
    return orjson.dumps(message)


LIST = rpc("tools/list")
CALL_ECHO = rpc("tools/call", {"name": "echo", "arguments": {}})
CALL_ADD = rpc("tools/call", {"name": "add", "arguments": {}})
CALL_WIPE = rpc("tools/call", {"name": "wipe", "arguments": {}})


def _authorize(keys: KeyPair, secret: str, body: bytes, slug: str = "py") -> RequestContext | Denial:
    snapshot = compiled(keys, access=ACCESS, tools=TOOLS, extra_keys=EXTRA)
    ctx = parse(context(snapshot, body=body, slug=slug, headers=bearer(secret)))
    assert isinstance(ctx, RequestContext)
    ctx = authenticate(ctx)
    assert isinstance(ctx, RequestContext)
    return authorize(ctx)


@pytest.mark.parametrize(
    ("secret", "body", "slug", "rule"),
    [
        (WIDE, LIST, "py", KEY_SCOPE),
        (WIDE, CALL_ADD, "py", KEY_SCOPE),
        (NARROW, CALL_ECHO, "py", KEY_SCOPE),
        (ALICE, CALL_ECHO, "py", "grant:team-read"),
        (ALICE, rpc("prompts/get", {"name": "summary"}), "py", "grant:docs-only"),
        (ALICE, rpc("resources/read", {"uri": "file:///docs/intro.md"}), "py", "grant:docs-only"),
        (ALICE, rpc("resources/subscribe", {"uri": "file:///docs/intro.md"}), "py", "grant:docs-only"),
        (
            ALICE,
            rpc("completion/complete", {"ref": {"type": "ref/prompt", "name": "summary"}}),
            "py",
            "grant:docs-only",
        ),
        (ALICE, rpc("ping"), "py", "grant:docs-only"),
        (BOT, CALL_ECHO, "other", "grant:ws-all"),
    ],
)
def test_allowed_requests_name_the_rule_that_allowed_them(
    keys: KeyPair, secret: str, body: bytes, slug: str, rule: str
) -> None:
    result = _authorize(keys, secret, body, slug)
    assert isinstance(result, RequestContext), result
    assert result.rule == rule


@pytest.mark.parametrize(
    ("secret", "body", "slug", "kind", "rule"),
    [
        (NARROW, CALL_ADD, "py", DenialKind.TOOL_FORBIDDEN, KEY_SCOPE),
        (ELSEWHERE, LIST, "py", DenialKind.SERVER_FORBIDDEN, KEY_SCOPE),
        # the key scope grants the server, but a workspace deny grant still refuses the tool
        (WIDE, CALL_WIPE, "py", DenialKind.TOOL_FORBIDDEN, "grant:no-wipe"),
        (ALICE, CALL_WIPE, "py", DenialKind.TOOL_FORBIDDEN, "grant:no-wipe"),
        (ALICE, rpc("prompts/get", {"name": "other"}), "py", DenialKind.TOOL_FORBIDDEN, DEFAULT_DENY),
        (
            ALICE,
            rpc("resources/read", {"uri": "file:///etc/passwd"}),
            "py",
            DenialKind.TOOL_FORBIDDEN,
            DEFAULT_DENY,
        ),
        (
            ALICE,
            rpc("tools/call", {"name": ["not", "a", "name"]}),
            "py",
            DenialKind.TOOL_FORBIDDEN,
            DEFAULT_DENY,
        ),
        (BOT, CALL_ECHO, "py", DenialKind.SERVER_FORBIDDEN, DEFAULT_DENY),
    ],
)
def test_refusals_say_which_rule_refused(
    keys: KeyPair, secret: str, body: bytes, slug: str, kind: DenialKind, rule: str
) -> None:
    result = _authorize(keys, secret, body, slug)
    assert isinstance(result, Denial)
    assert (result.kind, result.rule) == (kind, rule)
    assert f"'{slug}'" in result.reason


def test_refused_tool_names_tool_key_and_server(keys: KeyPair) -> None:
    result = _authorize(keys, NARROW, CALL_ADD)
    assert isinstance(result, Denial)
    assert "'add'" in result.reason and "'narrow'" in result.reason and "'py'" in result.reason


@pytest.mark.parametrize(
    ("secret", "method", "key", "visible", "hidden"),
    [
        (NARROW, "tools/list", "tools", ["echo"], ["add", "wipe"]),
        (WIDE, "tools/list", "tools", ["echo", "add"], ["wipe"]),
        (ALICE, "tools/list", "tools", ["echo", "add"], ["wipe", "undiscovered"]),
        (ALICE, "prompts/list", "prompts", ["summary"], ["secret"]),
        (ALICE, "resources/list", "resources", ["file:///docs/a"], ["file:///home/a"]),
        (ALICE, "resources/templates/list", "resourceTemplates", ["file:///docs/{name}"], ["db://{table}"]),
    ],
)
def test_lists_are_filtered_to_what_the_caller_may_use(
    keys: KeyPair, secret: str, method: str, key: str, visible: list[str], hidden: list[str]
) -> None:
    result = _authorize(keys, secret, rpc(method))
    assert isinstance(result, RequestContext)
    only = result.list_filter
    assert only is not None and only.key == key
    assert [n for n in visible + hidden if only.keep(n)] == visible


def test_an_unrestricted_list_is_not_filtered(keys: KeyPair) -> None:
    result = _authorize(keys, BOT, rpc("tools/list"), "other")
    assert isinstance(result, RequestContext)
    assert result.list_filter is None

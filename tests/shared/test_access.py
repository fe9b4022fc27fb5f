"""The shared access evaluation: precedence, selections, annotations, conditions, key scopes."""

from __future__ import annotations

from typing import Any

import pytest

from shared.access import DEFAULT_DENY, DISABLED_USER, KEY_SCOPE, AccessIndex, caller
from shared.snapshot import KeyEntry
from shared.snapshot.access import AccessSection, Condition, Grant, Selection, TeamEntry, UserEntry

CATALOG = {
    "gh": {
        "get_issue": {"readOnlyHint": True},
        "list_repos": {"readOnlyHint": True, "destructiveHint": False},
        "delete_repo": {"destructiveHint": True},
        "create_issue": {},
    }
}


def grant(gid: str, subject: str, **fields: Any) -> Grant:
    return Grant(id=gid, name=gid, subject=subject, server=fields.pop("server", "gh"), **fields)


def index(*grants: Grant, **section: Any) -> AccessIndex:
    return AccessIndex(AccessSection(grants=list(grants), **section), CATALOG)


ALICE = caller("user alice", user="u-alice", teams=["t-eng"], workspaces=["acme"], claims={"groups": ["eng"]})


@pytest.mark.parametrize(
    ("grants", "tool", "allowed", "rule"),
    [
        ([], "get_issue", False, DEFAULT_DENY),
        ([grant("ws", "workspace:acme")], "delete_repo", True, "grant:ws"),
        ([grant("ro", "team:t-eng", annotations={"readOnlyHint": True})], "get_issue", True, "grant:ro"),
        ([grant("ro", "team:t-eng", annotations={"readOnlyHint": True})], "delete_repo", False, DEFAULT_DENY),
        # no annotation: the MCP default (not read-only) applies
        (
            [grant("ro", "team:t-eng", annotations={"readOnlyHint": True})],
            "create_issue",
            False,
            DEFAULT_DENY,
        ),
        (
            [grant("ro", "team:t-eng", annotations={"readOnlyHint": True})],
            "undiscovered",
            False,
            DEFAULT_DENY,
        ),
        (
            [
                grant("ws", "workspace:acme"),
                grant("no-del", "user:u-alice", effect="deny", tools=Selection(include=["delete_*"])),
            ],
            "delete_repo",
            False,
            "grant:no-del",
        ),
        (
            [
                grant("ws", "workspace:acme"),
                grant("no-destr", "workspace:acme", effect="deny", annotations={"destructiveHint": True}),
            ],
            "list_repos",
            True,
            "grant:ws",
        ),
        (
            [
                grant("ws", "workspace:acme"),
                grant("no-destr", "workspace:acme", effect="deny", annotations={"destructiveHint": True}),
            ],
            "create_issue",
            False,
            "grant:no-destr",
        ),
        (
            [grant("some", "user:u-alice", tools=Selection(include=["get_*"], exclude=["get_secret"]))],
            "get_issue",
            True,
            "grant:some",
        ),
        (
            [grant("some", "user:u-alice", tools=Selection(include=["get_*"], exclude=["get_issue"]))],
            "get_issue",
            False,
            DEFAULT_DENY,
        ),
        ([grant("other", "team:t-ops")], "get_issue", False, DEFAULT_DENY),
        (
            [
                grant(
                    "fin",
                    "workspace:acme",
                    conditions=[Condition(claim="groups", op="contains", value="finance")],
                )
            ],
            "get_issue",
            False,
            DEFAULT_DENY,
        ),
        (
            [
                grant(
                    "eng",
                    "workspace:acme",
                    conditions=[Condition(claim="groups", op="contains", value="eng")],
                )
            ],
            "get_issue",
            True,
            "grant:eng",
        ),
    ],
)
def test_tool_decisions_follow_the_documented_precedence(
    grants: list[Grant], tool: str, allowed: bool, rule: str
) -> None:
    decision = index(*grants).view(ALICE, "gh").decide("tool", tool)
    assert (decision.allowed, decision.rule) == (allowed, rule)
    if not allowed:
        assert tool in decision.reason or "server" in decision.reason


def test_a_deny_grant_that_narrows_nothing_refuses_the_whole_server() -> None:
    view = index(grant("ws", "workspace:acme"), grant("block", "user:u-alice", effect="deny")).view(
        ALICE, "gh"
    )
    decision = view.server_decision()
    assert (decision.allowed, decision.rule) == (False, "grant:block")
    assert not view.decide("prompt", "summarize").allowed


def test_an_allow_grant_naming_tools_covers_no_prompt_or_resource() -> None:
    view = index(grant("ro", "workspace:acme", annotations={"readOnlyHint": True})).view(ALICE, "gh")
    assert view.server_decision().allowed
    assert view.decide("tool", "get_issue").allowed
    assert not view.decide("prompt", "summarize").allowed
    assert not view.decide("resource", "file:///readme").allowed


def test_a_deny_grant_naming_tools_leaves_prompts_and_resources_alone() -> None:
    view = index(
        grant("ws", "workspace:acme"),
        grant("no-del", "workspace:acme", effect="deny", tools=Selection(include=["delete_repo"])),
    ).view(ALICE, "gh")
    assert view.decide("prompt", "summarize").allowed
    assert view.decide("resource", "file:///readme").allowed
    assert not view.unrestricted("tool")
    assert view.unrestricted("prompt")


def test_resources_are_matched_by_uri_patterns() -> None:
    view = index(grant("docs", "workspace:acme", resources=Selection(include=["file:///docs/*"]))).view(
        ALICE, "gh"
    )
    assert view.decide("resource", "file:///docs/a/b.md").allowed
    assert not view.decide("resource", "file:///etc/passwd").allowed


def test_a_workspace_key_is_granted_its_scope_and_limited_to_it() -> None:
    access = index(grant("ws", "workspace:acme"))
    key = KeyEntry(id="k1", name="ci", workspace="acme", servers={"gh": ["get_issue"]})
    view = access.view(access.caller_for_key(key), "gh")
    assert view.decide("tool", "get_issue").rule == KEY_SCOPE
    refused = view.decide("tool", "delete_repo")
    assert (refused.allowed, refused.rule) == (False, KEY_SCOPE)
    assert not access.view(access.caller_for_key(key), "slack").server_decision().allowed


def test_a_workspace_key_without_scope_gets_the_workspace_grants() -> None:
    access = index(grant("ws", "workspace:acme"))
    key = KeyEntry(id="k1", name="ci", workspace="acme", servers={})
    assert access.view(access.caller_for_key(key), "gh").decide("tool", "delete_repo").rule == "grant:ws"


def test_a_user_key_acts_as_its_user_within_its_scope() -> None:
    users = {"u-alice": UserEntry(id="u-alice", workspaces=["acme"], teams=["t-eng"])}
    access = index(
        grant("eng", "team:t-eng", tools=Selection(include=["get_issue", "list_repos"])), users=users
    )
    scoped = KeyEntry(
        id="k2",
        name="alice-cli",
        workspace="acme",
        servers={"gh": ["get_issue", "delete_repo"]},
        user="u-alice",
    )
    view = access.view(access.caller_for_key(scoped), "gh")
    assert view.decide("tool", "get_issue").rule == "grant:eng"
    # in the key's scope, but the user has no grant for it: the scope never grants a user key
    assert view.decide("tool", "delete_repo").rule == DEFAULT_DENY
    # granted to the user, but outside the key's scope
    assert view.decide("tool", "list_repos").rule == KEY_SCOPE


def test_a_disabled_user_is_refused_with_its_own_rule() -> None:
    users = {"u-alice": UserEntry(id="u-alice", workspaces=["acme"], disabled=True)}
    access = index(grant("ws", "workspace:acme"), users=users)
    key = KeyEntry(id="k2", name="alice-cli", workspace="acme", servers={}, user="u-alice")
    assert access.view(access.caller_for_key(key), "gh").server_decision().rule == DISABLED_USER


def test_token_callers_find_their_user_and_claim_mapped_teams() -> None:
    access = index(
        grant("fin", "team:t-fin"),
        users={"u-bob": UserEntry(id="u-bob", email="bob@acme.test", workspaces=["acme"])},
        user_index={"email:bob@acme.test": "u-bob"},
        teams={
            "t-fin": TeamEntry(id="t-fin", slug="finance", workspace="acme", claim_values=["finance"]),
            "t-other": TeamEntry(id="t-other", slug="finance", workspace="globex", claim_values=["finance"]),
        },
    )
    who = access.caller_for_token(
        provider="kc",
        provider_workspace="acme",
        subject="s-1",
        email="Bob@acme.test".lower(),
        groups=["finance"],
    )
    assert who.subjects == ("user:u-bob", "team:t-fin", "workspace:acme", "provider:kc")
    assert access.view(who, "gh").decide("tool", "get_issue").rule == "grant:fin"
    unverified = access.caller_for_token(
        provider="kc",
        provider_workspace="acme",
        subject="s-2",
        email="bob@acme.test",
        claims={"email_verified": False},
    )
    assert "user:u-bob" not in unverified.subjects


@pytest.mark.parametrize(
    ("condition", "claims", "holds"),
    [
        (
            Condition(claim="realm_access.roles", op="contains", value="admin"),
            {"realm_access": {"roles": ["admin"]}},
            True,
        ),
        (Condition(claim="department", op="equals", value="fin"), {"department": "fin"}, True),
        (Condition(claim="department", op="equals", value="fin"), {"department": ["fin"]}, False),
        (Condition(claim="department", op="in", value=["fin", "ops"]), {"department": "ops"}, True),
        (Condition(claim="tenant", op="present"), {}, False),
    ],
)
def test_claim_conditions(condition: Condition, claims: dict[str, Any], holds: bool) -> None:
    access = index(grant("g", "workspace:acme", conditions=[condition]))
    who = caller("someone", workspaces=["acme"], claims=claims)
    assert access.view(who, "gh").server_decision().allowed is holds

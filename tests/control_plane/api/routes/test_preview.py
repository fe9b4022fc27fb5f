"""``POST /api/v1/access/preview``: the data planes' decision, named by its rule, without a call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from control_plane.compiler import compile_snapshot
from control_plane.discovery import DiscoveredTool
from control_plane.models import DataPlaneGroup
from control_plane.repos import servers
from shared.access import AccessIndex
from tests.control_plane.access_kit import (
    acting_as,
    add_member,
    make_grant,
    make_team,
    make_user,
    settings_on_both_databases,  # noqa: F401  (SQLite and PostgreSQL)
)
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import latest_revision, make_server, make_workspace

TOOLS = {
    "read_file": {"readOnlyHint": True},
    "list_dir": {"readOnlyHint": True, "destructiveHint": False},
    "write_file": {"readOnlyHint": False, "destructiveHint": False},
    "delete_file": {"destructiveHint": True},
}


def _catalog(client: TestClient, slug: str) -> None:
    """The catalog discovery would store: the tools of a file server and their annotations."""
    found = [
        DiscoveredTool(name, f"the {name} tool", {}, annotations, "d" * 64)
        for name, annotations in TOOLS.items()
    ]
    with state_of(client).db.transaction() as session:
        servers.replace_catalog(session, server=servers.get(session, slug=slug), catalog=found)


@pytest.fixture
def demo(client: TestClient) -> TestClient:
    """Workspace ``demo`` with server ``files`` (catalog above), team ``finance`` (claim value
    ``finance``), member alice, and identity provider ``okta`` of the workspace."""
    make_workspace(client, "demo")
    make_server(client, "files")
    _catalog(client, "files")
    make_team(client, "demo", "finance", claim_values=["finance"])
    make_user(client, "alice@example.com")
    add_member(client, "demo", "alice@example.com")
    provider = {
        "slug": "okta",
        "workspace": "demo",
        "issuer": "https://okta.example.com",
        "jwks_uri": "https://okta.example.com/keys",
    }
    assert client.post("/api/v1/identity-providers", json=provider).status_code == 201
    return client


def _key(client: TestClient, name: str, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/keys", json={"name": name, "workspace": "demo", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _preview(client: TestClient, caller: dict[str, Any], **item: str) -> dict[str, Any]:
    response = client.post("/api/v1/access/preview", json={"caller": caller, "server": "files", **item})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _token(groups: list[str] = [], **claims: Any) -> dict[str, Any]:  # noqa: B006 (never mutated)
    return {"kind": "token", "provider": "okta", "subject": "00u1", "groups": groups, "claims": claims}


def test_the_preview_explains_a_deny_by_naming_the_rule(demo: TestClient) -> None:
    make_grant(demo, "everyone-files", "files", "workspace", "demo")
    make_grant(
        demo, "no-deletes", "files", "workspace", "demo", effect="deny", tools={"include": ["delete_*"]}
    )
    key = _key(demo, "bot", servers=["files"])
    caller = {"kind": "key", "id": key["id"]}

    denied = _preview(demo, caller, tool="delete_file")
    allowed = _preview(demo, caller, tool="write_file")

    assert denied["allowed"] is False
    assert denied["rule"] == "grant:no-deletes"
    assert "no-deletes" in denied["reason"] and "delete_file" in denied["reason"]
    assert allowed["allowed"] is True
    assert denied["snapshot_version"] == str(latest_revision(demo))


def test_a_team_granted_read_only_tools_gets_only_those(demo: TestClient) -> None:
    make_grant(demo, "finance-read", "files", "team", "finance", annotations={"readOnlyHint": True})
    finance = _token(groups=["finance"])

    assert _preview(demo, finance) == _preview(demo, finance) | {
        "allowed": True,
        "rule": "grant:finance-read",
    }
    assert _preview(demo, finance, tool="read_file")["rule"] == "grant:finance-read"
    write = _preview(demo, finance, tool="write_file")
    assert (write["allowed"], write["rule"]) == (False, "default-deny")
    assert _preview(demo, _token(groups=["eng"]))["allowed"] is False


def test_a_claim_condition_groups_contains_finance_decides(demo: TestClient) -> None:
    condition = {"claim": "groups", "op": "contains", "value": "finance"}
    make_grant(demo, "okta-finance", "files", "provider", "okta", conditions=[condition])

    assert (
        _preview(demo, _token(groups=["staff", "finance"]), tool="read_file")["rule"] == "grant:okta-finance"
    )
    assert _preview(demo, _token(groups=["staff"]), tool="read_file")["allowed"] is False


def test_a_claim_condition_reads_extra_claims_given_to_the_preview(demo: TestClient) -> None:
    condition = {"claim": "department", "op": "in", "value": ["finance", "audit"]}
    make_grant(demo, "okta-departments", "files", "provider", "okta", conditions=[condition])

    assert _preview(demo, _token(department="audit"))["allowed"] is True
    assert _preview(demo, _token(department="sales"))["allowed"] is False


def test_a_user_owned_key_acts_as_its_user_limited_by_its_scope(demo: TestClient) -> None:
    make_grant(demo, "alice-files", "files", "user", "alice@example.com")
    key = _key(demo, "alice-bot", owner="alice@example.com", tools={"files": ["read_file"]})
    caller = {"kind": "key", "id": key["id"]}

    read = _preview(demo, caller, tool="read_file")
    write = _preview(demo, caller, tool="write_file")

    assert (read["allowed"], read["rule"]) == (True, "grant:alice-files")
    assert (write["allowed"], write["rule"]) == (False, "key-scope")
    assert "alice-bot" in write["reason"]
    assert _preview(demo, {"kind": "user", "id": "alice@example.com"}, tool="write_file")["allowed"] is True


def test_a_user_owned_key_without_grants_gets_nothing_from_its_scope(demo: TestClient) -> None:
    key = _key(demo, "alice-bot", owner="alice@example.com", servers=["files"])

    answer = _preview(demo, {"kind": "key", "id": key["id"]})

    assert (answer["allowed"], answer["rule"]) == (False, "default-deny")


def test_an_identity_providers_servers_list_still_grants_whole_servers(demo: TestClient) -> None:
    assert demo.patch("/api/v1/identity-providers/okta", json={"servers": ["files"]}).status_code == 200

    answer = _preview(demo, _token(), tool="delete_file")

    assert (answer["allowed"], answer["rule"]) == (True, "grant:identity-provider:okta")


def test_a_disabled_user_is_refused_and_a_revoked_key_is_unusable(demo: TestClient) -> None:
    make_grant(demo, "alice-files", "files", "user", "alice@example.com")
    key = _key(demo, "alice-bot", owner="alice@example.com")
    user = demo.get("/api/v1/users/alice@example.com").json()
    assert demo.patch(f"/api/v1/users/{user['id']}", json={"disabled": True}).status_code == 200

    assert _preview(demo, {"kind": "key", "id": key["id"]})["rule"] == "user-disabled"
    assert _preview(demo, {"kind": "user", "id": user["id"]})["rule"] == "user-disabled"

    assert demo.post(f"/api/v1/keys/{key['id']}/revoke").status_code == 200
    revoked = _preview(demo, {"kind": "key", "id": key["id"]})
    assert (revoked["allowed"], revoked["rule"]) == (False, "key-unusable")


def test_an_allowed_call_says_when_the_workspaces_webhook_is_asked_too(demo: TestClient) -> None:
    make_grant(demo, "everyone-files", "files", "workspace", "demo")
    key = _key(demo, "bot")
    caller = {"kind": "key", "id": key["id"]}
    assert _preview(demo, caller)["webhook"] is False

    webhook = demo.put("/api/v1/workspaces/demo/authz-webhook", json={"url": "https://authz.example.com"})
    assert webhook.status_code == 200

    assert _preview(demo, caller)["webhook"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"caller": {"kind": "key", "id": "ghost"}, "server": "files"},
        {"caller": {"kind": "user", "id": "ghost@example.com"}, "server": "files"},
        {"caller": {"kind": "token", "provider": "ghost", "subject": "s"}, "server": "files"},
        {"caller": {"kind": "user", "id": "alice@example.com"}, "server": "ghost"},
        {"caller": {"kind": "robot", "id": "x"}, "server": "files"},
        {
            "caller": {"kind": "user", "id": "alice@example.com"},
            "server": "files",
            "tool": "a",
            "prompt": "b",
        },
    ],
    ids=["unknown-key", "unknown-user", "unknown-provider", "unknown-server", "unknown-kind", "two-items"],
)
def test_a_preview_naming_what_does_not_exist_is_refused(demo: TestClient, body: dict[str, Any]) -> None:
    assert demo.post("/api/v1/access/preview", json=body).status_code == 422


def test_only_admins_of_the_servers_and_the_keys_workspace_may_preview(demo: TestClient) -> None:
    make_workspace(demo, "other")
    make_server(demo, "theirs", workspace="other")
    make_user(demo, "admin@example.com")
    add_member(demo, "demo", "admin@example.com", role="admin")
    other_key = demo.post("/api/v1/keys", json={"name": "theirs", "workspace": "other"}).json()

    with acting_as(demo, "admin@example.com"):
        own = demo.post("/api/v1/access/preview", json={"caller": _token(), "server": "files"})
        foreign_server = demo.post("/api/v1/access/preview", json={"caller": _token(), "server": "theirs"})
        foreign_key = demo.post(
            "/api/v1/access/preview",
            json={"caller": {"kind": "key", "id": other_key["id"]}, "server": "files"},
        )
    with acting_as(demo, "alice@example.com"):
        member = demo.post("/api/v1/access/preview", json={"caller": _token(), "server": "files"})

    assert own.status_code == 200
    assert [foreign_server.status_code, foreign_key.status_code, member.status_code] == [403, 403, 403]


def test_the_preview_agrees_with_the_evaluation_of_the_compiled_snapshot(demo: TestClient) -> None:
    make_grant(demo, "finance-read", "files", "team", "finance", annotations={"readOnlyHint": True})
    make_grant(
        demo, "no-deletes", "files", "workspace", "demo", effect="deny", tools={"include": ["delete_*"]}
    )
    make_grant(demo, "alice-write", "files", "user", "alice@example.com", tools={"include": ["write_*"]})
    bot = _key(demo, "bot")
    make_grant(demo, "bot-list", "files", "agent", "bot", tools={"include": ["list_dir"]})
    alice_bot = _key(
        demo, "alice-bot", owner="alice@example.com", tools={"files": ["write_file", "read_file"]}
    )
    with state_of(demo).db.session() as session:
        group = session.exec(select(DataPlaneGroup).where(DataPlaneGroup.name == "default")).one()
        real = compile_snapshot(session, group=group, secrets=state_of(demo).secrets, now=datetime.now(UTC))
    index = AccessIndex.of(real)
    entries = {entry.id: entry for entry in real.keys.values()}

    for key in (bot, alice_bot):
        view = index.view(index.caller_for_key(entries[key["id"]]), "files")
        for tool in TOOLS:
            expected = view.decide("tool", tool)
            answer = _preview(demo, {"kind": "key", "id": key["id"]}, tool=tool)
            assert (answer["allowed"], answer["rule"], answer["reason"]) == (
                expected.allowed,
                expected.rule,
                expected.reason,
            ), (key["name"], tool)
            assert answer["snapshot_version"] == real.version

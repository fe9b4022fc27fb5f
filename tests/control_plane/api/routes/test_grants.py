"""``/api/v1/grants``: access grants, validated, scoped to the server's workspace, recorded as revisions."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.control_plane.access_kit import (
    acting_as,
    add_member,
    make_grant,
    make_team,
    make_user,
    settings_on_both_databases,  # noqa: F401  (SQLite and PostgreSQL)
)
from tests.control_plane.helpers import latest_revision, make_server, make_workspace


@pytest.fixture
def demo(client: TestClient) -> TestClient:
    """Workspaces ``demo`` (server ``py``, team ``finance``) and ``other`` (server ``theirs``, team ``ops``)."""
    make_workspace(client, "demo")
    make_workspace(client, "other")
    make_server(client, "py", workspace="demo")
    make_server(client, "theirs", workspace="other")
    make_team(client, "demo", "finance")
    make_team(client, "other", "ops")
    return client


def test_a_grant_write_bumps_the_config_revision(demo: TestClient) -> None:
    before = latest_revision(demo)

    grant = make_grant(demo, "finance-read", "py", "team", "finance", tools={"include": ["read_*"]})

    assert latest_revision(demo) > before
    assert grant["workspace"] == "demo" and grant["server"] == "py"
    assert grant["subject"]["kind"] == "team" and grant["subject"]["name"] == "finance"
    assert grant["tools"] == {"include": ["read_*"], "exclude": []}
    after_create = latest_revision(demo)

    patched = demo.patch(f"/api/v1/grants/{grant['id']}", json={"effect": "deny"})
    assert patched.json()["effect"] == "deny"
    assert latest_revision(demo) > after_create
    after_patch = latest_revision(demo)

    assert demo.patch(f"/api/v1/grants/{grant['id']}", json={"effect": "deny"}).status_code == 200
    assert latest_revision(demo) == after_patch, "an unchanged grant records nothing"

    assert demo.delete(f"/api/v1/grants/{grant['id']}").status_code == 204
    assert latest_revision(demo) > after_patch
    assert demo.get(f"/api/v1/grants/{grant['id']}").status_code == 404


@pytest.mark.parametrize(
    ("kind", "ref", "name"),
    [
        ("workspace", "other", "other"),
        ("team", "finance", "finance"),
        ("user", "Alice@example.com", "alice@example.com"),
        ("agent", "bot", "bot"),
        ("provider", "okta", "okta"),
    ],
)
def test_each_subject_kind_is_named_by_its_readable_name_and_stored_by_id(
    demo: TestClient, kind: str, ref: str, name: str
) -> None:
    make_user(demo, "alice@example.com")
    assert demo.post("/api/v1/keys", json={"name": "bot", "workspace": "demo"}).status_code == 201
    provider = {
        "slug": "okta",
        "issuer": "https://okta.example.com",
        "jwks_uri": "https://okta.example.com/k",
    }
    assert demo.post("/api/v1/identity-providers", json=provider).status_code == 201

    grant = make_grant(demo, "g", "py", kind, ref)

    assert grant["subject"]["name"] == name
    assert grant["subject"]["id"] != ref, "stored by id, not by the name the request used"
    by_id = make_grant(demo, "g2", "py", kind, grant["subject"]["id"])
    assert by_id["subject"] == grant["subject"]


@pytest.mark.parametrize(
    ("kind", "ref"),
    [
        ("team", "ghost"),
        ("team", "ops"),  # a team of another workspace
        ("user", "ghost@example.com"),
        ("workspace", "ghost"),
        ("agent", "ghost"),
        ("provider", "ghost"),
    ],
)
def test_a_subject_that_does_not_exist_here_is_refused(demo: TestClient, kind: str, ref: str) -> None:
    body = {"name": "g", "server": "py", "subject": {"kind": kind, "id": ref}}
    response = demo.post("/api/v1/grants", json=body)
    assert response.status_code == 422
    assert ref in response.json()["detail"]


@pytest.mark.parametrize(
    "rules",
    [
        {"annotations": {"dangerousHint": True}},
        {"conditions": [{"claim": "groups", "op": "matches", "value": "x"}]},
        {"conditions": [{"claim": "groups", "op": "in", "value": "finance"}]},
        {"conditions": [{"claim": "dept", "op": "equals", "value": ""}]},
        {"tools": {"includes": ["read_*"]}},
        {"tool": {"include": ["read_*"]}},
        {"effect": "maybe"},
    ],
    ids=[
        "unknown-hint",
        "unknown-op",
        "in-needs-a-list",
        "equals-needs-a-value",
        "misspelt-include",
        "misspelt-tools",
        "bad-effect",
    ],
)
def test_malformed_rules_are_refused_rather_than_widened(demo: TestClient, rules: dict[str, Any]) -> None:
    body = {"name": "g", "server": "py", "subject": {"kind": "team", "id": "finance"}, **rules}
    assert demo.post("/api/v1/grants", json=body).status_code == 422


def test_wildcards_annotations_and_conditions_are_stored_as_given(demo: TestClient) -> None:
    grant = make_grant(
        demo,
        "finance-safe",
        "py",
        "team",
        "finance",
        tools={"include": ["get_*", "list_?"], "exclude": ["get_secret"]},
        annotations={"readOnlyHint": True},
        resources={"include": ["file:///reports/*"]},
        conditions=[
            {"claim": "groups", "op": "contains", "value": "finance"},
            {"claim": "mfa", "op": "present"},
        ],
    )

    again = demo.get(f"/api/v1/grants/{grant['id']}").json()
    assert again["tools"] == {"include": ["get_*", "list_?"], "exclude": ["get_secret"]}
    assert again["annotations"] == {"readOnlyHint": True}
    assert again["resources"]["include"] == ["file:///reports/*"]
    assert again["conditions"] == [
        {"claim": "groups", "op": "contains", "value": "finance"},
        {"claim": "mfa", "op": "present", "value": ""},
    ]


def test_a_name_taken_in_the_workspace_is_a_conflict_and_an_unknown_server_is_refused(
    demo: TestClient,
) -> None:
    make_grant(demo, "g", "py", "team", "finance")

    assert (
        demo.post(
            "/api/v1/grants",
            json={"name": "g", "server": "py", "subject": {"kind": "workspace", "id": "demo"}},
        ).status_code
        == 409
    )
    missing = demo.post(
        "/api/v1/grants",
        json={"name": "h", "server": "ghost", "subject": {"kind": "workspace", "id": "demo"}},
    )
    assert missing.status_code == 422


def test_grants_are_listed_by_workspace_server_and_subject(demo: TestClient) -> None:
    make_server(demo, "py2", workspace="demo")
    make_grant(demo, "a", "py", "team", "finance")
    make_grant(demo, "b", "py2", "workspace", "demo")
    make_grant(demo, "c", "theirs", "team", "ops")

    def names(**params: str) -> list[str]:
        response = demo.get("/api/v1/grants", params=params)
        assert response.status_code == 200, response.text
        return [g["name"] for g in response.json()]

    assert set(names()) == {"a", "b", "c"}
    assert set(names(workspace="demo")) == {"a", "b"}
    assert names(server="py2") == ["b"]
    assert names(subject="team:finance") == ["a"]
    assert names(subject="workspace:demo") == ["b"]
    assert demo.get("/api/v1/grants", params={"subject": "robot:x"}).status_code == 422


def test_a_workspace_admin_cannot_grant_on_another_workspaces_server(demo: TestClient) -> None:
    make_user(demo, "admin@example.com")
    add_member(demo, "demo", "admin@example.com", role="admin")
    theirs = make_grant(demo, "theirs-ops", "theirs", "team", "ops")
    before = latest_revision(demo)

    with acting_as(demo, "admin@example.com"):
        foreign = demo.post(
            "/api/v1/grants",
            json={"name": "sneaky", "server": "theirs", "subject": {"kind": "workspace", "id": "demo"}},
        )
        reads = [
            demo.get(f"/api/v1/grants/{theirs['id']}"),
            demo.patch(f"/api/v1/grants/{theirs['id']}", json={"effect": "deny"}),
            demo.delete(f"/api/v1/grants/{theirs['id']}"),
            demo.get("/api/v1/grants", params={"server": "theirs"}),
            demo.get("/api/v1/grants", params={"workspace": "other"}),
        ]
        own = demo.post(
            "/api/v1/grants",
            json={"name": "mine", "server": "py", "subject": {"kind": "team", "id": "finance"}},
        )
        listed = demo.get("/api/v1/grants").json()

    assert foreign.status_code == 403
    assert [r.status_code for r in reads] == [403] * len(reads)
    assert own.status_code == 201
    assert [g["name"] for g in listed] == ["mine"]
    assert demo.get(f"/api/v1/grants/{theirs['id']}").json()["effect"] == "allow"
    assert latest_revision(demo) == before + 1, "only the admin's own grant was written"


def test_a_member_cannot_list_or_write_grants(demo: TestClient) -> None:
    make_user(demo, "alice@example.com")
    add_member(demo, "demo", "alice@example.com")

    with acting_as(demo, "alice@example.com"):
        listed = demo.get("/api/v1/grants")
        written = demo.post(
            "/api/v1/grants",
            json={"name": "me", "server": "py", "subject": {"kind": "user", "id": "alice@example.com"}},
        )

    assert listed.status_code == 403 and written.status_code == 403


def test_deleting_a_server_deletes_its_grants(demo: TestClient) -> None:
    grant = make_grant(demo, "g", "py", "team", "finance")

    assert demo.delete("/api/v1/servers/py").status_code == 204

    assert demo.get(f"/api/v1/grants/{grant['id']}").status_code == 404


def test_deleting_a_key_deletes_the_grants_to_it(demo: TestClient) -> None:
    key = demo.post("/api/v1/keys", json={"name": "bot", "workspace": "demo"}).json()
    grant = make_grant(demo, "g", "py", "agent", key["id"])

    assert demo.delete(f"/api/v1/keys/{key['id']}").status_code == 204

    assert demo.get(f"/api/v1/grants/{grant['id']}").status_code == 404

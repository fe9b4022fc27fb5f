"""``/api/v1/workspaces/{slug}/members``: workspace memberships, managed by the workspace's admins."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.control_plane.access_kit import (
    acting_as,
    add_member,
    make_team,
    make_user,
    settings_on_both_databases,  # noqa: F401  (SQLite and PostgreSQL)
)
from tests.control_plane.helpers import latest_revision, make_workspace


def test_adding_a_member_by_email_records_a_revision_and_lists_them(client: TestClient) -> None:
    make_workspace(client)
    user = make_user(client, "alice@example.com", name="Alice")
    before = latest_revision(client)

    added = client.post(
        "/api/v1/workspaces/demo/members", json={"user": "Alice@example.com", "role": "auditor"}
    )

    assert added.status_code == 201
    assert added.json()["user_id"] == user["id"] and added.json()["role"] == "auditor"
    assert latest_revision(client) > before
    listed = client.get("/api/v1/workspaces/demo/members").json()
    assert [(m["email"], m["role"], m["workspace"]) for m in listed] == [
        ("alice@example.com", "auditor", "demo")
    ]
    assert client.get(f"/api/v1/users/{user['id']}").json()["workspaces"] == {"demo": "auditor"}


def test_an_unknown_user_a_second_membership_and_a_bad_role_are_refused(client: TestClient) -> None:
    make_workspace(client)
    make_user(client, "alice@example.com")
    add_member(client, "demo", "alice@example.com")

    assert (
        client.post("/api/v1/workspaces/demo/members", json={"user": "ghost@example.com"}).status_code == 404
    )
    assert (
        client.post("/api/v1/workspaces/demo/members", json={"user": "alice@example.com"}).status_code == 409
    )
    bad_role = client.post(
        "/api/v1/workspaces/demo/members", json={"user": "alice@example.com", "role": "owner"}
    )
    assert bad_role.status_code == 422
    assert (
        client.post("/api/v1/workspaces/ghost/members", json={"user": "alice@example.com"}).status_code == 404
    )


def test_changing_a_role_records_no_revision(client: TestClient) -> None:
    make_workspace(client)
    make_user(client, "alice@example.com")
    add_member(client, "demo", "alice@example.com")
    before = latest_revision(client)

    changed = client.patch("/api/v1/workspaces/demo/members/alice@example.com", json={"role": "admin"})

    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    assert latest_revision(client) == before


def test_removing_a_member_drops_their_teams_and_revokes_the_keys_they_own_there(client: TestClient) -> None:
    make_workspace(client)
    make_user(client, "alice@example.com")
    add_member(client, "demo", "alice@example.com")
    team = make_team(client, "demo", "ops")
    assert (
        client.post(f"/api/v1/teams/{team['id']}/members", json={"user": "alice@example.com"}).status_code
        == 201
    )
    key = client.post(
        "/api/v1/keys", json={"name": "mine", "workspace": "demo", "owner": "alice@example.com"}
    ).json()
    before = latest_revision(client)

    removed = client.delete("/api/v1/workspaces/demo/members/alice@example.com")

    assert removed.status_code == 204
    assert latest_revision(client) > before
    assert client.get("/api/v1/workspaces/demo/members").json() == []
    assert client.get(f"/api/v1/teams/{team['id']}/members").json() == []
    assert client.get(f"/api/v1/keys/{key['id']}").json()["revoked_at"] is not None
    assert client.delete("/api/v1/workspaces/demo/members/alice@example.com").status_code == 404


@pytest.mark.parametrize("role", ["member", "auditor"])
def test_members_and_auditors_cannot_manage_members(client: TestClient, role: str) -> None:
    make_workspace(client)
    make_user(client, "alice@example.com")
    add_member(client, "demo", "alice@example.com", role=role)

    with acting_as(client, "alice@example.com"):
        calls = [
            client.get("/api/v1/workspaces/demo/members"),
            client.post("/api/v1/workspaces/demo/members", json={"user": "alice@example.com"}),
            client.patch("/api/v1/workspaces/demo/members/alice@example.com", json={"role": "admin"}),
            client.delete("/api/v1/workspaces/demo/members/alice@example.com"),
        ]

    assert [c.status_code for c in calls] == [403] * 4


def test_a_workspace_admin_manages_their_workspace_but_not_another(client: TestClient) -> None:
    make_workspace(client, "demo")
    make_workspace(client, "other")
    make_user(client, "admin@example.com")
    make_user(client, "bob@example.com")
    add_member(client, "demo", "admin@example.com", role="admin")

    with acting_as(client, "admin@example.com"):
        own = client.post("/api/v1/workspaces/demo/members", json={"user": "bob@example.com"})
        foreign = client.post("/api/v1/workspaces/other/members", json={"user": "bob@example.com"})
        foreign_list = client.get("/api/v1/workspaces/other/members")

    assert own.status_code == 201
    assert foreign.status_code == 403 and foreign_list.status_code == 403
    assert client.get("/api/v1/workspaces/other/members").json() == []

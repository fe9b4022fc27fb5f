"""``/api/v1/teams``: teams of a workspace, their members and claim values."""

from __future__ import annotations

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


def test_a_team_is_created_listed_by_workspace_and_read_back(client: TestClient) -> None:
    make_workspace(client, "demo")
    make_workspace(client, "other")
    before = latest_revision(client)

    team = make_team(client, "demo", "finance", name="Finance", claim_values=["fin", "fin", "acct"])
    make_team(client, "other", "finance")

    assert team["workspace"] == "demo" and team["claim_values"] == ["fin", "acct"]
    assert latest_revision(client) > before
    assert [t["workspace"] for t in client.get("/api/v1/teams", params={"workspace": "demo"}).json()] == [
        "demo"
    ]
    assert len(client.get("/api/v1/teams").json()) == 2
    assert client.get(f"/api/v1/teams/{team['id']}").json()["name"] == "Finance"


def test_a_slug_taken_in_the_workspace_is_a_conflict(client: TestClient) -> None:
    make_workspace(client)
    make_team(client, "demo", "ops")
    other = make_team(client, "demo", "dev")

    assert client.post("/api/v1/teams", json={"workspace": "demo", "slug": "ops"}).status_code == 409
    assert client.patch(f"/api/v1/teams/{other['id']}", json={"slug": "ops"}).status_code == 409
    assert client.post("/api/v1/teams", json={"workspace": "demo", "slug": "Bad Slug"}).status_code == 422


def test_renaming_records_no_revision_but_changing_claim_values_does(client: TestClient) -> None:
    make_workspace(client)
    team = make_team(client, "demo", "ops")
    before = latest_revision(client)

    assert client.patch(f"/api/v1/teams/{team['id']}", json={"name": "Operations"}).status_code == 200
    assert latest_revision(client) == before

    patched = client.patch(f"/api/v1/teams/{team['id']}", json={"claim_values": ["sre"]})
    assert patched.json()["claim_values"] == ["sre"]
    assert latest_revision(client) > before


def test_team_members_must_be_members_of_the_workspace(client: TestClient) -> None:
    make_workspace(client)
    team = make_team(client, "demo", "ops")
    make_user(client, "alice@example.com", name="Alice")
    make_user(client, "outsider@example.com")
    add_member(client, "demo", "alice@example.com")

    outsider = client.post(f"/api/v1/teams/{team['id']}/members", json={"user": "outsider@example.com"})
    added = client.post(f"/api/v1/teams/{team['id']}/members", json={"user": "alice@example.com"})
    again = client.post(f"/api/v1/teams/{team['id']}/members", json={"user": "alice@example.com"})

    assert outsider.status_code == 422
    assert added.status_code == 201 and added.json()["name"] == "Alice"
    assert again.status_code == 409
    assert [m["email"] for m in client.get(f"/api/v1/teams/{team['id']}/members").json()] == [
        "alice@example.com"
    ]
    assert client.delete(f"/api/v1/teams/{team['id']}/members/alice@example.com").status_code == 204
    assert client.get(f"/api/v1/teams/{team['id']}/members").json() == []


def test_deleting_a_team_deletes_the_grants_to_it(client: TestClient) -> None:
    make_workspace(client)
    make_server(client, "py")
    team = make_team(client, "demo", "ops")
    grant = make_grant(client, "ops-py", "py", "team", "ops")

    assert client.delete(f"/api/v1/teams/{team['id']}").status_code == 204

    assert client.get(f"/api/v1/teams/{team['id']}").status_code == 404
    assert client.get(f"/api/v1/grants/{grant['id']}").status_code == 404


def test_a_workspace_admin_sees_and_changes_only_their_own_teams(client: TestClient) -> None:
    make_workspace(client, "demo")
    make_workspace(client, "other")
    mine = make_team(client, "demo", "ops")
    theirs = make_team(client, "other", "ops")
    make_user(client, "admin@example.com")
    add_member(client, "demo", "admin@example.com", role="admin")

    with acting_as(client, "admin@example.com"):
        listed = client.get("/api/v1/teams").json()
        foreign = [
            client.get(f"/api/v1/teams/{theirs['id']}"),
            client.patch(f"/api/v1/teams/{theirs['id']}", json={"claim_values": ["x"]}),
            client.delete(f"/api/v1/teams/{theirs['id']}"),
            client.get(f"/api/v1/teams/{theirs['id']}/members"),
            client.post(f"/api/v1/teams/{theirs['id']}/members", json={"user": "admin@example.com"}),
            client.post("/api/v1/teams", json={"workspace": "other", "slug": "new"}),
            client.get("/api/v1/teams", params={"workspace": "other"}),
        ]

    assert [t["id"] for t in listed] == [mine["id"]]
    assert [r.status_code for r in foreign] == [403] * len(foreign)
    assert client.get(f"/api/v1/teams/{theirs['id']}").json()["claim_values"] == []


def test_a_member_without_admin_rights_cannot_list_teams(client: TestClient) -> None:
    make_workspace(client)
    make_user(client, "alice@example.com")
    add_member(client, "demo", "alice@example.com")

    with acting_as(client, "alice@example.com"):
        assert client.get("/api/v1/teams").status_code == 403

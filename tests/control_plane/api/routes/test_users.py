"""``/api/v1/users``: organization users and their identities, for organization admins only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.control_plane.access_kit import (
    acting_as,
    add_member,
    make_user,
    settings_on_both_databases,  # noqa: F401  (SQLite and PostgreSQL)
)
from tests.control_plane.helpers import latest_revision, make_workspace


def _provider(client: TestClient, slug: str = "okta") -> None:
    body = {
        "slug": slug,
        "issuer": f"https://{slug}.example.com",
        "jwks_uri": f"https://{slug}.example.com/jwks",
    }
    response = client.post("/api/v1/identity-providers", json=body)
    assert response.status_code == 201, response.text


def test_a_user_is_created_with_a_lower_cased_email_and_found_by_id_or_email(client: TestClient) -> None:
    created = make_user(client, "Alice@Example.COM", name="Alice")

    assert created["email"] == "alice@example.com"
    assert created["org_role"] == "none" and created["disabled"] is False
    assert client.get(f"/api/v1/users/{created['id']}").json()["name"] == "Alice"
    assert client.get("/api/v1/users/ALICE@example.com").json()["id"] == created["id"]
    assert [u["email"] for u in client.get("/api/v1/users").json()] == ["alice@example.com"]


def test_a_taken_email_is_a_conflict_and_a_malformed_one_is_refused(client: TestClient) -> None:
    make_user(client, "alice@example.com")

    assert client.post("/api/v1/users", json={"email": "ALICE@example.com"}).status_code == 409
    assert client.post("/api/v1/users", json={"email": "not an email"}).status_code == 422
    assert client.post("/api/v1/users", json={"email": "a@b.c", "org_role": "root"}).status_code == 422


def test_renaming_a_user_records_no_revision_but_disabling_does(client: TestClient) -> None:
    user = make_user(client, "alice@example.com")
    before = latest_revision(client)

    renamed = client.patch(f"/api/v1/users/{user['id']}", json={"name": "Alice A.", "org_role": "auditor"})
    assert renamed.status_code == 200
    assert renamed.json()["org_role"] == "auditor"
    assert latest_revision(client) == before

    disabled = client.patch(f"/api/v1/users/{user['id']}", json={"disabled": True})
    assert disabled.json()["disabled"] is True
    assert latest_revision(client) > before


def test_identities_are_added_listed_and_removed_and_a_subject_belongs_to_one_user(
    client: TestClient,
) -> None:
    _provider(client)
    alice = make_user(client, "alice@example.com")
    bob = make_user(client, "bob@example.com")
    before = latest_revision(client)

    added = client.post(
        f"/api/v1/users/{alice['id']}/identities", json={"provider": "okta", "subject": "00u1"}
    )
    assert added.status_code == 201
    assert added.json()["provider"] == "okta"
    assert latest_revision(client) > before
    listed = client.get(f"/api/v1/users/{alice['id']}").json()["identities"]
    assert [(i["provider"], i["subject"]) for i in listed] == [("okta", "00u1")]

    clash = client.post(f"/api/v1/users/{bob['id']}/identities", json={"provider": "okta", "subject": "00u1"})
    assert clash.status_code == 409
    unknown = client.post(f"/api/v1/users/{bob['id']}/identities", json={"provider": "ghost", "subject": "x"})
    assert unknown.status_code == 404

    removed = client.delete(f"/api/v1/users/{alice['id']}/identities/{added.json()['id']}")
    assert removed.status_code == 204
    assert client.get(f"/api/v1/users/{alice['id']}").json()["identities"] == []
    assert client.delete(f"/api/v1/users/{bob['id']}/identities/{added.json()['id']}").status_code == 404


def test_deleting_a_user_who_owns_a_key_is_refused_until_the_key_is_deleted(client: TestClient) -> None:
    make_workspace(client)
    user = make_user(client, "alice@example.com")
    add_member(client, "demo", "alice@example.com")
    key = client.post(
        "/api/v1/keys", json={"name": "mine", "workspace": "demo", "owner": "alice@example.com"}
    )
    assert key.status_code == 201, key.text

    refused = client.delete(f"/api/v1/users/{user['id']}")
    assert refused.status_code == 409
    assert "key" in refused.json()["detail"]

    assert client.delete(f"/api/v1/keys/{key.json()['id']}").status_code == 204
    assert client.delete(f"/api/v1/users/{user['id']}").status_code == 204
    assert client.get(f"/api/v1/users/{user['id']}").status_code == 404
    assert client.get("/api/v1/workspaces/demo/members").json() == []


@pytest.mark.parametrize("role", ["admin", "member"])
def test_only_organization_admins_manage_users(client: TestClient, role: str) -> None:
    make_workspace(client)
    target = make_user(client, "target@example.com")
    make_user(client, "wsadmin@example.com")
    add_member(client, "demo", "wsadmin@example.com", role=role)

    with acting_as(client, "wsadmin@example.com"):
        calls = [
            client.post("/api/v1/users", json={"email": "new@example.com"}),
            client.get("/api/v1/users"),
            client.get(f"/api/v1/users/{target['id']}"),
            client.patch(f"/api/v1/users/{target['id']}", json={"org_role": "admin"}),
            client.delete(f"/api/v1/users/{target['id']}"),
            client.post(f"/api/v1/users/{target['id']}/identities", json={"provider": "x", "subject": "y"}),
            client.delete(f"/api/v1/users/{target['id']}/identities/whatever"),
        ]
    assert [c.status_code for c in calls] == [403] * len(calls)
    assert client.get(f"/api/v1/users/{target['id']}").json()["org_role"] == "none"


def test_an_organization_admin_user_manages_users(client: TestClient) -> None:
    make_user(client, "boss@example.com", org_role="admin")

    with acting_as(client, "boss@example.com"):
        created = client.post("/api/v1/users", json={"email": "new@example.com"})

    assert created.status_code == 201

"""``AgentKeyCreate.owner``: a key may act as a member of its workspace instead of as the workspace."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.control_plane.access_kit import (
    add_member,
    make_user,
    settings_on_both_databases,  # noqa: F401  (SQLite and PostgreSQL)
)
from tests.control_plane.helpers import make_workspace


def test_a_key_owned_by_a_member_shows_its_owner_and_a_workspace_key_none(client: TestClient) -> None:
    make_workspace(client)
    alice = make_user(client, "alice@example.com")
    add_member(client, "demo", "alice@example.com")

    owned = client.post(
        "/api/v1/keys", json={"name": "mine", "workspace": "demo", "owner": "ALICE@example.com"}
    )
    shared = client.post("/api/v1/keys", json={"name": "shared", "workspace": "demo"})

    assert owned.status_code == 201 and owned.json()["owner"] == alice["id"]
    assert client.get(f"/api/v1/keys/{owned.json()['id']}").json()["owner"] == alice["id"]
    assert shared.json()["owner"] is None


def test_an_owner_who_is_not_a_member_of_the_keys_workspace_is_refused(client: TestClient) -> None:
    make_workspace(client, "demo")
    make_workspace(client, "other")
    make_user(client, "alice@example.com")
    add_member(client, "other", "alice@example.com")

    outsider = client.post(
        "/api/v1/keys", json={"name": "k", "workspace": "demo", "owner": "alice@example.com"}
    )
    nobody = client.post(
        "/api/v1/keys", json={"name": "k", "workspace": "demo", "owner": "ghost@example.com"}
    )

    assert outsider.status_code == 422 and "member" in outsider.json()["detail"]
    assert nobody.status_code == 422

"""``/api/v1/keys``: secrets shown once, stored as a hash; scopes checked; revocation."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import text

from shared import apikeys
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import latest_revision, make_server, make_workspace


def _create(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post("/api/v1/keys", json={"name": "agent", "workspace": "demo", **body})
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_a_new_key_shows_its_generated_secret_once_and_stores_only_its_hash(client: TestClient) -> None:
    make_workspace(client)

    created = _create(client)

    secret = str(created["secret"])
    assert secret.startswith(apikeys.PREFIX) and len(secret) > 40
    assert created["prefix"] == apikeys.display_prefix(secret)
    again = client.get(f"/api/v1/keys/{created['id']}").json()
    assert "secret" not in again
    assert secret not in json.dumps(client.get("/api/v1/keys").json())
    with state_of(client).db.session() as session:
        row = session.execute(text("SELECT * FROM agentkey")).mappings().one()
    assert row["key_hash"] == apikeys.hash_secret(secret)
    assert secret not in json.dumps({k: str(v) for k, v in row.items()})


def test_a_development_secret_is_used_as_given(client: TestClient) -> None:
    make_workspace(client)
    created = _create(client, secret="mcpgw_dev_probe_0123456789abcdef")
    assert created["secret"] == "mcpgw_dev_probe_0123456789abcdef"


def test_a_short_development_secret_is_refused(client: TestClient) -> None:
    make_workspace(client)
    response = client.post("/api/v1/keys", json={"name": "a", "workspace": "demo", "secret": "short"})
    assert response.status_code == 422


def test_a_scope_naming_a_missing_server_is_refused_with_its_name(client: TestClient) -> None:
    make_workspace(client)
    response = client.post("/api/v1/keys", json={"name": "a", "workspace": "demo", "tools": {"ghost": ["x"]}})
    assert response.status_code == 422
    assert "ghost" in response.json()["detail"]


def test_a_scope_naming_a_server_of_another_workspace_is_refused(client: TestClient) -> None:
    make_workspace(client, "demo")
    make_workspace(client, "other")
    make_server(client, "theirs", workspace="other")
    response = client.post("/api/v1/keys", json={"name": "a", "workspace": "demo", "servers": ["theirs"]})
    assert response.status_code == 422
    assert "another workspace" in response.json()["detail"]


def test_a_duplicate_key_name_in_a_workspace_is_a_conflict(client: TestClient) -> None:
    make_workspace(client)
    _create(client)
    assert client.post("/api/v1/keys", json={"name": "agent", "workspace": "demo"}).status_code == 409


def test_revoking_a_key_records_a_revision_once_and_hides_it_from_the_default_list(
    client: TestClient,
) -> None:
    make_workspace(client)
    key_id = _create(client)["id"]
    before = latest_revision(client)

    first = client.post(f"/api/v1/keys/{key_id}/revoke")
    second = client.post(f"/api/v1/keys/{key_id}/revoke")

    assert first.status_code == second.status_code == 200
    assert first.json()["revoked_at"] and first.json()["revoked_at"] == second.json()["revoked_at"]
    assert latest_revision(client) == before + 1
    assert client.get("/api/v1/keys").json() == []
    listed = client.get("/api/v1/keys", params={"include_revoked": True}).json()
    assert [k["id"] for k in listed] == [key_id]


def test_patch_replaces_scope_and_sets_then_clears_the_expiry(client: TestClient) -> None:
    make_workspace(client)
    make_server(client, "py")
    key_id = _create(client)["id"]

    scoped = client.patch(
        f"/api/v1/keys/{key_id}", json={"tools": {"py": ["echo"]}, "expires_at": "2030-01-01T00:00:00Z"}
    )
    assert scoped.status_code == 200
    assert scoped.json()["tools"] == {"py": ["echo"]}
    assert scoped.json()["expires_at"].startswith("2030-01-01T00:00:00")

    cleared = client.patch(f"/api/v1/keys/{key_id}", json={"expires_at": None}).json()
    assert cleared["expires_at"] is None and cleared["tools"] == {"py": ["echo"]}


def test_keys_can_be_listed_by_workspace_and_deleted(client: TestClient) -> None:
    make_workspace(client, "demo")
    make_workspace(client, "other")
    key_id = _create(client)["id"]
    client.post("/api/v1/keys", json={"name": "x", "workspace": "other"})

    assert [k["id"] for k in client.get("/api/v1/keys", params={"workspace": "demo"}).json()] == [key_id]
    assert client.delete(f"/api/v1/keys/{key_id}").status_code == 204
    assert client.get(f"/api/v1/keys/{key_id}").status_code == 404

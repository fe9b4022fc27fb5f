"""``/api/v1/admin-tokens`` and ``/api/v1/me``: tokens that act as their user, stored as hashes only."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from control_plane.models import AdminToken
from tests.control_plane.access_kit import add_member, make_user
from tests.control_plane.api.admin_kit import admin_token, bearer, ok
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import make_workspace


def _row(client: TestClient, token_id: str) -> AdminToken:
    with state_of(client).db.session() as session:
        row = session.get(AdminToken, token_id)
        assert row is not None
        return row


def _set(client: TestClient, token_id: str, **values: object) -> None:
    """Move a token's stored times (expiry, last use) as if time had passed."""
    with state_of(client).db.transaction() as session:
        row = session.get(AdminToken, token_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)


def test_a_token_acts_as_its_user_with_the_users_roles(client: TestClient) -> None:
    make_workspace(client, "alpha")
    alice = make_user(client, "alice@example.com", name="Alice", org_role="auditor")
    add_member(client, "alpha", alice["id"], "admin")
    created = admin_token(client, alice["id"], name="laptop")

    me = ok(client.get("/api/v1/me", headers=bearer(created["token"])))

    assert me == {
        "user": {"id": alice["id"], "email": "alice@example.com", "name": "Alice"},
        "authenticated_by": "admin token laptop",
        "org_role": "auditor",
        "workspaces": {"alpha": "admin"},
    }


def test_the_bootstrap_token_is_an_organization_admin_without_a_user(client: TestClient) -> None:
    me = ok(client.get("/api/v1/me"))

    assert me["user"] is None and me["org_role"] == "admin"
    assert me["authenticated_by"] == "the bootstrap admin token"


def test_the_token_is_shown_once_and_only_its_sha256_is_stored(client: TestClient) -> None:
    alice = make_user(client, "alice@example.com")
    created = admin_token(client, alice["id"])
    token = created["token"]

    assert token.startswith("mcpgw_admin_") and len(token) > 50
    assert created["prefix"] == token[: len(created["prefix"])]
    listed = ok(client.get("/api/v1/admin-tokens"))
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0] and "token_hash" not in listed[0]
    assert _row(client, created["id"]).token_hash == hashlib.sha256(token.encode()).hexdigest()
    with state_of(client).db.session() as session:
        dump = str(session.exec(text("SELECT * FROM admin_token")).all())
    assert token not in dump


def test_a_revoked_token_is_refused_at_once(client: TestClient) -> None:
    alice = make_user(client, "alice@example.com")
    created = admin_token(client, alice["id"])
    ok(client.get("/api/v1/me", headers=bearer(created["token"])))

    revoked = ok(client.post(f"/api/v1/admin-tokens/{created['id']}/revoke"))
    again = ok(client.post(f"/api/v1/admin-tokens/{created['id']}/revoke"))

    assert revoked["revoked_at"] is not None and again["revoked_at"] == revoked["revoked_at"]
    refused = client.get("/api/v1/me", headers=bearer(created["token"]))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "admin token revoked"
    assert ok(client.get("/api/v1/admin-tokens")) == []
    assert [t["id"] for t in ok(client.get("/api/v1/admin-tokens", params={"include_revoked": True}))] == [
        created["id"]
    ]


def test_an_expired_token_is_refused_and_an_expiry_in_the_past_is_not_accepted(client: TestClient) -> None:
    alice = make_user(client, "alice@example.com")
    later = datetime.now(UTC) + timedelta(days=1)
    created = admin_token(client, alice["id"], expires_at=later.isoformat())
    assert ok(client.get("/api/v1/me", headers=bearer(created["token"])))["user"]["id"] == alice["id"]

    _set(client, created["id"], expires_at=datetime.now(UTC) - timedelta(seconds=1))

    refused = client.get("/api/v1/me", headers=bearer(created["token"]))
    assert refused.status_code == 401 and refused.json()["detail"] == "admin token expired"
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    body = {"name": "old", "user_id": alice["id"], "expires_at": past}
    assert client.post("/api/v1/admin-tokens", json=body).status_code == 422


def test_a_disabled_users_tokens_are_refused_and_work_again_once_enabled(client: TestClient) -> None:
    alice = make_user(client, "alice@example.com")
    created = admin_token(client, alice["id"])

    ok(client.patch(f"/api/v1/users/{alice['id']}", json={"disabled": True}))
    refused = client.get("/api/v1/me", headers=bearer(created["token"]))
    assert refused.status_code == 401 and "disabled" in refused.json()["detail"]
    assert client.post("/api/v1/admin-tokens", json={"name": "x", "user_id": alice["id"]}).status_code == 422

    ok(client.patch(f"/api/v1/users/{alice['id']}", json={"disabled": False}))
    assert client.get("/api/v1/me", headers=bearer(created["token"])).status_code == 200


def test_last_use_is_recorded_at_most_once_a_minute(client: TestClient) -> None:
    alice = make_user(client, "alice@example.com")
    created = admin_token(client, alice["id"])
    assert created["last_used_at"] is None

    ok(client.get("/api/v1/me", headers=bearer(created["token"])))
    first = _row(client, created["id"]).last_used_at
    ok(client.get("/api/v1/me", headers=bearer(created["token"])))
    assert first is not None and _row(client, created["id"]).last_used_at == first

    _set(client, created["id"], last_used_at=datetime.now(UTC) - timedelta(minutes=2))
    ok(client.get("/api/v1/me", headers=bearer(created["token"])))
    moved = _row(client, created["id"]).last_used_at
    assert moved is not None and moved.replace(tzinfo=UTC) > datetime.now(UTC) - timedelta(minutes=1)


def test_a_role_change_applies_to_the_next_request(client: TestClient) -> None:
    make_workspace(client, "alpha")
    alice = make_user(client, "alice@example.com")
    add_member(client, "alpha", alice["id"], "admin")
    token = admin_token(client, alice["id"])["token"]
    assert client.get("/api/v1/workspaces/alpha", headers=bearer(token)).status_code == 200

    ok(client.delete(f"/api/v1/workspaces/alpha/members/{alice['id']}"), 204)

    assert client.get("/api/v1/workspaces/alpha", headers=bearer(token)).status_code == 403


def test_users_manage_their_own_tokens_and_only_an_org_admin_manages_anyones(client: TestClient) -> None:
    alice = make_user(client, "alice@example.com")
    bob = make_user(client, "bob@example.com")
    root = make_user(client, "root@example.com", org_role="admin")
    alice_token = admin_token(client, alice["id"])
    bob_token = admin_token(client, bob["id"])
    root_token = admin_token(client, root["id"])["token"]
    as_alice = bearer(alice_token["token"])

    own = ok(client.post("/api/v1/admin-tokens", json={"name": "ci"}, headers=as_alice), 201)
    assert own["user_id"] == alice["id"]
    for_bob = client.post("/api/v1/admin-tokens", json={"name": "x", "user_id": bob["id"]}, headers=as_alice)
    assert for_bob.status_code == 403
    listed = ok(client.get("/api/v1/admin-tokens", headers=as_alice))
    assert {t["user_id"] for t in listed} == {alice["id"]} and len(listed) == 2
    assert (
        client.get("/api/v1/admin-tokens", params={"user_id": bob["id"]}, headers=as_alice).status_code == 403
    )
    revoke_bobs = client.post(f"/api/v1/admin-tokens/{bob_token['id']}/revoke", headers=as_alice)
    assert revoke_bobs.status_code == 403
    ok(client.post(f"/api/v1/admin-tokens/{own['id']}/revoke", headers=as_alice))

    as_root = bearer(root_token)
    everyone = ok(client.get("/api/v1/admin-tokens", headers=as_root))
    assert {t["user_id"] for t in everyone} == {alice["id"], bob["id"], root["id"]}
    bobs = ok(client.get("/api/v1/admin-tokens", params={"user_id": bob["id"]}, headers=as_root))
    assert [t["id"] for t in bobs] == [bob_token["id"]]
    ok(client.post("/api/v1/admin-tokens", json={"name": "x", "user_id": bob["id"]}, headers=as_root), 201)
    ok(client.post(f"/api/v1/admin-tokens/{bob_token['id']}/revoke", headers=as_root))


def test_the_bootstrap_token_must_name_the_user_of_a_new_token(client: TestClient) -> None:
    response = client.post("/api/v1/admin-tokens", json={"name": "x"})

    assert response.status_code == 422
    assert "user_id" in response.json()["detail"]
    assert client.post("/api/v1/admin-tokens", json={"name": "x", "user_id": "nope"}).status_code == 404


def test_a_deleted_users_tokens_are_gone(client: TestClient) -> None:
    alice = make_user(client, "alice@example.com")
    created = admin_token(client, alice["id"])

    ok(client.delete(f"/api/v1/users/{alice['id']}"), 204)

    assert client.get("/api/v1/me", headers=bearer(created["token"])).status_code == 401
    with state_of(client).db.session() as session:
        assert session.exec(select(AdminToken)).all() == []

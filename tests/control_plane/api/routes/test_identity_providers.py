"""``/api/v1/identity-providers``: CRUD, write-only secret, algorithm policy, Keycloak realms,
``apply``, and the compiled snapshot entry (secret sealed to the group)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from control_plane.app import DEFAULT_GROUP
from control_plane.compiler import compile_group
from control_plane.repos import dataplanes
from shared import keyfiles, sealing
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import latest_revision, make_server, make_workspace
from tests.idp.oidc import OidcProvider, running_provider

SECRET = "introspection-secret-42"


def _body(**overrides: object) -> dict[str, object]:
    return {
        "slug": "corp",
        "workspace": "demo",
        "issuer": "https://idp.example.test",
        "audiences": ["api://mcp"],
        "required_claims": {"email_verified": "true", "tenant": "present"},
        "claim_mapping": {"roles": "realm_access.roles", "team": "department"},
        "introspection_endpoint": "https://idp.example.test/introspect",
        "introspection_client_id": "gateway",
        "introspection_client_secret": SECRET,
        "servers": ["py"],
        **overrides,
    }


@pytest.fixture
def ready(client: TestClient) -> TestClient:
    make_workspace(client)
    make_server(client, "py")
    return client


def test_a_provider_is_created_listed_updated_and_deleted_with_a_revision_per_write(
    ready: TestClient,
) -> None:
    before = latest_revision(ready)
    created = ready.post("/api/v1/identity-providers", json=_body())
    assert created.status_code == 201, created.text
    assert created.json()["has_introspection_secret"] is True
    assert created.json()["algorithms"] == ["RS256", "ES256", "EdDSA", "Ed25519"]
    assert latest_revision(ready) == before + 1

    assert [p["slug"] for p in ready.get("/api/v1/identity-providers").json()] == ["corp"]
    patched = ready.patch("/api/v1/identity-providers/corp", json={"leeway_seconds": 5, "servers": []})
    assert patched.json()["leeway_seconds"] == 5 and patched.json()["servers"] == []
    assert latest_revision(ready) == before + 2
    unchanged = ready.patch("/api/v1/identity-providers/corp", json={"leeway_seconds": 5})
    assert unchanged.status_code == 200 and latest_revision(ready) == before + 2

    assert ready.delete("/api/v1/identity-providers/corp").status_code == 204
    assert ready.get("/api/v1/identity-providers/corp").status_code == 404
    assert latest_revision(ready) == before + 3


def test_the_introspection_secret_is_write_only_and_encrypted_at_rest(ready: TestClient) -> None:
    ready.post("/api/v1/identity-providers", json=_body())
    assert SECRET not in json.dumps(ready.get("/api/v1/identity-providers").json())
    with state_of(ready).db.session() as session:
        row = session.execute(text("SELECT * FROM identityprovider")).mappings().one()
    assert SECRET not in json.dumps({k: str(v) for k, v in row.items()})
    assert state_of(ready).secrets.decrypt(row["introspection_secret_encrypted"]) == SECRET


@pytest.mark.parametrize("algorithms", [["none"], ["HS256"], ["RS256", "HS512"], []])
def test_none_hmac_and_empty_algorithm_lists_are_refused(ready: TestClient, algorithms: list[str]) -> None:
    response = ready.post("/api/v1/identity-providers", json=_body(algorithms=algorithms))
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"servers": ["nope"]}, 422),
        ({"issuer": ""}, 422),
        ({"workspace": "nope"}, 404),
    ],
)
def test_unknown_servers_missing_issuer_and_unknown_workspaces_are_refused(
    ready: TestClient, overrides: dict[str, object], status: int
) -> None:
    assert ready.post("/api/v1/identity-providers", json=_body(**overrides)).status_code == status


def test_a_second_provider_with_the_same_issuer_conflicts(ready: TestClient) -> None:
    assert ready.post("/api/v1/identity-providers", json=_body()).status_code == 201
    assert ready.post("/api/v1/identity-providers", json=_body(slug="other")).status_code == 409


def test_the_compiled_snapshot_carries_the_provider_with_its_secret_sealed_to_the_group(
    ready: TestClient,
) -> None:
    ready.post("/api/v1/identity-providers", json=_body())
    state = state_of(ready)
    group_key = keyfiles.read_key(state.settings.state_dir / "groups" / f"{DEFAULT_GROUP}.jwk")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with state.db.session() as session:
        group = dataplanes.get_group(session, name=DEFAULT_GROUP)
        assert group is not None
        first = compile_group(session, group=group, secrets=state.secrets, now=now)
        second = compile_group(session, group=group, secrets=state.secrets, now=now)
    entry = first.snapshot.identity_providers["https://idp.example.test"]
    assert (entry.slug, entry.workspace, entry.servers) == ("corp", "demo", ["py"])
    assert entry.claims.roles == "realm_access.roles" and entry.audiences == ["api://mcp"]
    assert entry.introspection_client_secret is not None
    assert sealing.unseal(entry.introspection_client_secret.sealed, group_key) == SECRET
    assert first.content_key == second.content_key  # sealing is randomized, the content key is not


def test_apply_creates_then_leaves_an_identity_provider_unchanged(ready: TestClient) -> None:
    document = {"identity_providers": [_body(claim_mapping={"team": "department"})]}
    first = ready.post("/api/v1/apply", json=document)
    assert first.status_code == 200, first.text
    assert first.json()["identity_providers"] == [{"slug": "corp", "action": "created"}]
    again = ready.post("/api/v1/apply", json=document).json()
    assert again["identity_providers"] == [{"slug": "corp", "action": "unchanged"}]
    changed = {"identity_providers": [_body(leeway_seconds=1)]}
    assert ready.post("/api/v1/apply", json=changed).json()["identity_providers"][0]["action"] == "updated"


@pytest.fixture(scope="module")
def realm() -> Iterator[OidcProvider]:
    """A real OIDC provider laid out like a Keycloak realm (``/realms/test``)."""
    with running_provider(prefix="/realms/test") as provider:
        yield provider


def test_a_keycloak_realm_is_resolved_with_python_keycloak(ready: TestClient, realm: OidcProvider) -> None:
    server_url = realm.issuer.removesuffix("/realms/test")
    body = {"slug": "kc", "kind": "keycloak", "keycloak_server_url": server_url, "keycloak_realm": "test"}
    created = ready.post("/api/v1/identity-providers", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["issuer"] == realm.issuer
    assert created.json()["jwks_uri"] == realm.url("/jwks")
    assert created.json()["introspection_endpoint"] == realm.url("/token/introspection")


def test_an_unreachable_keycloak_realm_is_a_502(ready: TestClient) -> None:
    body = {
        "slug": "kc",
        "kind": "keycloak",
        "keycloak_server_url": "http://127.0.0.1:9",
        "keycloak_realm": "x",
    }
    assert ready.post("/api/v1/identity-providers", json=body).status_code == 502


def test_the_public_schema_never_exposes_the_introspection_secret(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    properties = schemas["IdentityProviderPublic"]["properties"]
    assert {"introspection_client_secret", "introspection_secret_encrypted"}.isdisjoint(properties)
    assert "has_introspection_secret" in properties

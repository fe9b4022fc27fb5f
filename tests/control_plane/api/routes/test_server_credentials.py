"""Upstream credentials and identity forwarding through the admin API, the database and the compiler."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from control_plane.compiler import compile_snapshot
from control_plane.repos import dataplanes
from control_plane.settings import ControlPlaneSettings
from shared import keyfiles
from shared.sealing import unseal
from shared.snapshot.credentials import (
    ApiKeyAuth,
    BearerAuth,
    ClientCredentialsAuth,
    NoAuth,
    TokenExchangeAuth,
    UserOAuthAuth,
)
from tests.control_plane.conftest import state_of

TOKEN = "bearer-secret-4e1a9c"
KEY_VALUE = "api-key-secret-77b2"
CLIENT_SECRET = "client-secret-c3f08d"
SECRETS = (TOKEN, KEY_VALUE, CLIENT_SECRET)

AUTHS: list[tuple[str, dict[str, Any], dict[str, Any], type[object]]] = [
    ("none", {"type": "none"}, {"type": "none"}, NoAuth),
    ("bearer", {"type": "bearer", "token": TOKEN}, {"type": "bearer"}, BearerAuth),
    (
        "api-key-header",
        {"type": "api_key", "in": "header", "name": "X-Key", "value": KEY_VALUE},
        {"type": "api_key", "in": "header", "name": "X-Key"},
        ApiKeyAuth,
    ),
    (
        "api-key-query",
        {"type": "api_key", "in": "query", "name": "key", "value": KEY_VALUE},
        {"type": "api_key", "in": "query", "name": "key"},
        ApiKeyAuth,
    ),
    (
        "client-credentials",
        {
            "type": "oauth2_client_credentials",
            "token_url": "https://idp.example.test/token",
            "client_id": "gw",
            "client_secret": CLIENT_SECRET,
            "scopes": ["a", "b"],
            "auth_method": "client_secret_post",
        },
        {
            "type": "oauth2_client_credentials",
            "token_url": "https://idp.example.test/token",
            "client_id": "gw",
            "scopes": ["a", "b"],
            "auth_method": "client_secret_post",
        },
        ClientCredentialsAuth,
    ),
    (
        "per-user-oauth",
        {
            "type": "oauth2_user",
            "authorization_url": "https://as.example.test/authorize",
            "token_url": "https://as.example.test/token",
            "client_id": "gw",
            "client_secret": CLIENT_SECRET,
            "scopes": ["repo"],
            "resource": "https://api.example.test",
        },
        {
            "type": "oauth2_user",
            "authorization_url": "https://as.example.test/authorize",
            "token_url": "https://as.example.test/token",
            "client_id": "gw",
            "scopes": ["repo"],
            "resource": "https://api.example.test",
            "auth_method": "client_secret_basic",
        },
        UserOAuthAuth,
    ),
    (
        "token-exchange",
        {
            "type": "token_exchange",
            "token_url": "https://idp.example.test/token",
            "client_id": "gw",
            "client_secret": CLIENT_SECRET,
            "audience": "upstream",
        },
        {
            "type": "token_exchange",
            "token_url": "https://idp.example.test/token",
            "client_id": "gw",
            "scopes": [],
            "audience": "upstream",
            "auth_method": "client_secret_basic",
        },
        TokenExchangeAuth,
    ),
]


def register(client: TestClient, slug: str, auth: dict[str, Any], **extra: Any) -> dict[str, Any]:
    client.post("/api/v1/workspaces", json={"slug": "demo"})
    body = {
        "slug": slug,
        "workspace": "demo",
        "url": "http://127.0.0.1:9/mcp",
        "discover": False,
        "auth": auth,
        **extra,
    }
    response = client.post("/api/v1/servers", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize(("case", "auth", "shown", "kind"), AUTHS, ids=[a[0] for a in AUTHS])
def test_a_credential_is_shown_by_type_and_public_fields_and_its_secret_never(
    client: TestClient, case: str, auth: dict[str, Any], shown: dict[str, Any], kind: type[object]
) -> None:
    created = register(client, "py", auth)
    listed = client.get("/api/v1/servers").json()
    fetched = client.get("/api/v1/servers/py").json()
    for answer in (created, fetched, listed[0]):
        assert {k: v for k, v in answer["auth"].items() if v is not None} == shown
        assert not any(secret in json.dumps(answer) for secret in SECRETS)


@pytest.mark.parametrize(("case", "auth", "shown", "kind"), AUTHS, ids=[a[0] for a in AUTHS])
def test_the_compiled_snapshot_carries_the_credential_sealed_to_the_group(
    client: TestClient,
    settings: ControlPlaneSettings,
    case: str,
    auth: dict[str, Any],
    shown: dict[str, Any],
    kind: type[object],
) -> None:
    register(client, "py", auth)
    state = state_of(client)
    with state.db.transaction() as session:
        group = dataplanes.get_group(session, name="default")
        assert group is not None
        snapshot = compile_snapshot(session, group=group, secrets=state.secrets, now=datetime.now(UTC))
    entry = snapshot.servers["py"].auth
    assert isinstance(entry, kind)
    document = snapshot.model_dump_json()
    assert not any(secret in document for secret in SECRETS)
    group_key = keyfiles.read_key(settings.state_dir / "groups" / "default.jwk")
    # oauth2_user carries no secret at all: the control plane keeps the client secret (it is the broker).
    secret_field = {
        "bearer": "token",
        "api_key": "value",
        "oauth2_client_credentials": "client_secret",
        "token_exchange": "client_secret",
    }
    if entry.type in secret_field:
        assert (
            unseal(getattr(entry, secret_field[entry.type]).sealed, group_key)
            == auth[secret_field[entry.type]]
        )


def text_columns(client: TestClient) -> str:
    """Every text and JSON value of every table, as one string (what a database dump shows)."""
    engine = state_of(client).db.engine
    values: list[str] = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                values.extend(str(value) for value in row)
    return "\n".join(values)


def test_no_secret_is_stored_in_clear_in_any_column(client: TestClient) -> None:
    register(client, "a", AUTHS[1][1])
    register(client, "b", AUTHS[2][1], headers={"X-Static": "static-header-secret"})
    register(client, "c", AUTHS[4][1], identity={"jwt": {"audience": "aud"}})
    dump = text_columns(client)
    for secret in (*SECRETS, "static-header-secret"):
        assert secret not in dump
    with state_of(client).db.transaction() as session:
        group = dataplanes.get_group(session, name="default")
        assert group is not None
        private_d = json.loads(state_of(client).secrets.decrypt(group.identity_key_encrypted))["d"]
    assert private_d not in dump


def test_a_patch_replaces_the_credential_and_identity(client: TestClient) -> None:
    register(client, "py", AUTHS[1][1])
    patched = client.patch(
        "/api/v1/servers/py",
        json={"auth": AUTHS[3][1], "identity": {"headers": {"email": "X-User-Email"}}},
    )
    assert patched.status_code == 200
    body = patched.json()
    assert body["auth"]["type"] == "api_key" and body["auth"]["in"] == "query"
    assert body["identity"] == {"jwt": None, "headers": {"email": "X-User-Email"}}


def test_an_unknown_credential_type_or_field_is_refused(client: TestClient) -> None:
    client.post("/api/v1/workspaces", json={"slug": "demo"})
    base = {"slug": "py", "workspace": "demo", "url": "http://127.0.0.1:9/mcp", "discover": False}
    for auth in ({"type": "basic", "password": "x"}, {"type": "bearer", "token": "t", "extra": 1}):
        assert client.post("/api/v1/servers", json={**base, "auth": auth}).status_code == 422


def test_applying_a_document_with_credentials_twice_changes_nothing_the_second_time(
    client: TestClient,
) -> None:
    document = {
        "workspaces": [{"slug": "demo"}],
        "servers": [
            {
                "slug": slug,
                "workspace": "demo",
                "url": "http://127.0.0.1:9/mcp",
                "auth": auth,
                "identity": {"jwt": {"header": "X-Id", "ttl_seconds": 30}, "headers": {"team": "X-Team"}},
            }
            for slug, auth in (("a", AUTHS[1][1]), ("b", AUTHS[3][1]), ("c", AUTHS[4][1]))
        ],
    }
    first = client.post("/api/v1/apply", json=document).json()
    assert {s["action"] for s in first["servers"]} == {"created"}
    again = client.post("/api/v1/apply", json=document).json()
    assert {s["action"] for s in again["servers"]} == {"unchanged"}
    document["servers"][0]["auth"] = {"type": "bearer", "token": "rotated-token"}
    third = client.post("/api/v1/apply", json=document).json()
    assert [s["action"] for s in third["servers"]] == ["updated", "unchanged", "unchanged"]


def test_the_jwks_lists_every_groups_identity_key_without_authentication(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    answer = anonymous.get("/.well-known/jwks.json")
    assert answer.status_code == 200
    keys = answer.json()["keys"]
    assert len(keys) == 1
    assert keys[0]["crv"] == "Ed25519" and keys[0]["alg"] == "Ed25519" and "d" not in keys[0]

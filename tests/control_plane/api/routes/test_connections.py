"""The per-user OAuth connect flow through the admin API and ``/oauth/callback`` (no network:
the server names its endpoints, and the tests stop before the code exchange)."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlmodel import select

from control_plane.models import OAuthAuthorization
from control_plane.models.common import utcnow
from control_plane.settings import ControlPlaneSettings
from tests.control_plane.api.routes.test_server_credentials import register
from tests.control_plane.conftest import state_of

AUTH = {
    "type": "oauth2_user",
    "authorization_url": "https://as.example.test/authorize?tenant=t1",
    "token_url": "https://as.example.test/token",
    "client_id": "gw-client",
    "client_secret": "gw-client-secret",
    "scopes": ["repo", "offline_access"],
    "resource": "https://api.example.test",
}


def user_token(client: TestClient, email: str) -> str:
    user = client.post("/api/v1/users", json={"email": email}).json()
    token: str = client.post("/api/v1/admin-tokens", json={"name": "t", "user_id": user["id"]}).json()[
        "token"
    ]
    return token


def start(client: TestClient, token: str, server: str = "py") -> Any:
    return client.post(f"/api/v1/me/connections/{server}", headers={"Authorization": f"Bearer {token}"})


def test_the_authorization_url_carries_pkce_s256_a_fresh_state_and_the_exact_redirect_uri(
    client: TestClient, settings: ControlPlaneSettings
) -> None:
    register(client, "py", AUTH)
    token = user_token(client, "alice@example.test")
    first, second = start(client, token), start(client, token)
    assert first.status_code == 201, first.text
    url = urlsplit(first.json()["authorization_url"])
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://as.example.test/authorize"
    assert (
        params["tenant"] == "t1" and params["response_type"] == "code" and params["client_id"] == "gw-client"
    )
    assert params["redirect_uri"] == f"{settings.public_url}/oauth/callback"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["scope"] == "repo offline_access" and params["resource"] == "https://api.example.test"
    other = parse_qs(urlsplit(second.json()["authorization_url"]).query)
    assert other["state"][0] != params["state"] and other["code_challenge"][0] != params["code_challenge"]

    with state_of(client).db.transaction() as session:
        rows = list(session.exec(select(OAuthAuthorization)))
        stored = {row.state_hash: row for row in rows}
        row = stored[hashlib.sha256(params["state"].encode()).hexdigest()]
        verifier = state_of(client).secrets.decrypt(row.verifier_encrypted)
    assert params["state"] not in str([r.model_dump() for r in rows]) and verifier not in str(rows)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert digest == params["code_challenge"]


def test_an_expired_state_is_refused_and_cannot_be_tried_again(client: TestClient) -> None:
    register(client, "py", AUTH)
    started = start(client, user_token(client, "alice@example.test")).json()
    state = parse_qs(urlsplit(started["authorization_url"]).query)["state"][0]
    with state_of(client).db.transaction() as session:
        for row in session.exec(select(OAuthAuthorization)):
            row.expires_at = utcnow() - timedelta(seconds=1)
            session.add(row)
    anonymous = TestClient(client.app)
    expired = anonymous.get("/oauth/callback", params={"state": state, "code": "c"})
    assert expired.status_code == 400 and "expired" in expired.text
    again = anonymous.get("/oauth/callback", params={"state": state, "code": "c"})
    assert again.status_code == 400 and "already used" in again.text


def test_connecting_needs_a_user_and_a_server_with_per_user_oauth(client: TestClient) -> None:
    register(client, "py", AUTH)
    register(client, "plain", {"type": "bearer", "token": "t0ken"})
    token = user_token(client, "alice@example.test")
    assert client.post("/api/v1/me/connections/py").status_code == 422  # the bootstrap token is no user
    assert start(client, token, "plain").status_code == 404
    assert start(client, token, "missing").status_code == 404
    gone = client.delete("/api/v1/me/connections/py", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 404
    assert client.get("/api/v1/me/connections", headers={"Authorization": f"Bearer {token}"}).json() == []
    assert client.get("/api/v1/servers/py/connections").json() == []


def test_per_user_oauth_needs_an_issuer_or_both_endpoints(client: TestClient) -> None:
    client.post("/api/v1/workspaces", json={"slug": "demo"})
    auth = {
        "type": "oauth2_user",
        "token_url": "https://as.example.test/token",
        "client_id": "c",
        "client_secret": "s",
    }
    body = {
        "slug": "py",
        "workspace": "demo",
        "url": "http://127.0.0.1:9/mcp",
        "discover": False,
        "auth": auth,
    }
    refused = client.post("/api/v1/servers", json=body)
    assert refused.status_code == 422 and "issuer" in refused.text

"""Admin login with tokens of a real OIDC provider (``tests/idp``) whose ``admin_login`` is on."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from control_plane.api.idp_login import SigningKeys
from tests.control_plane.access_kit import add_member, make_user
from tests.control_plane.api.admin_kit import bearer, ok
from tests.control_plane.helpers import make_workspace
from tests.idp.oidc import OidcProvider, running_provider

CONTROL_PLANE = "http://127.0.0.1:8000"
"""The test app's public URL (``ControlPlaneSettings.public_url`` from its default host and port)."""
REDIRECT_URI = "http://127.0.0.1:9/callback"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    """One real OIDC provider process for this module."""
    with running_provider() as provider:
        yield provider


def _register(client: TestClient, idp: OidcProvider, **fields: Any) -> dict[str, Any]:
    body = {"slug": "corp", "issuer": idp.issuer, "admin_login": True, "algorithms": ["ES256"], **fields}
    created: dict[str, Any] = ok(client.post("/api/v1/identity-providers", json=body), 201)
    return created


def _link(client: TestClient, user_id: str, subject: str, provider: str = "corp") -> None:
    body = {"provider": provider, "subject": subject}
    ok(client.post(f"/api/v1/users/{user_id}/identities", json=body), 201)


def _machine_token(idp: OidcProvider, audience: str = CONTROL_PLANE) -> str:
    """A client-credentials JWT (subject ``machine``, no email) for ``audience``."""
    return idp.access_token(resource=audience)


def _user_token(idp: OidcProvider, audience: str = CONTROL_PLANE) -> str:
    """The authorization-code flow with PKCE for the provider's account ``test-user`` (verified email)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = {
        "client_id": "mcp-client",
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email mcp:tools",
        "resource": audience,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
    }
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        url = idp.url("/auth?" + urlencode(query))
        for _ in range(10):
            response = browser.get(url)
            assert response.status_code in (302, 303), response.text
            url = str(response.url.join(response.headers["location"]))
            if url.startswith(REDIRECT_URI):
                break
        code = parse_qs(urlparse(url).query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": "mcp-client",
            "code_verifier": verifier,
            "resource": audience,
        }
        answer = browser.post(idp.url("/token"), data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def _refused(client: TestClient, token: str) -> str:
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    detail: str = response.json()["detail"]
    return detail


def test_a_token_whose_subject_is_linked_to_a_user_logs_that_user_in(
    client: TestClient, idp: OidcProvider
) -> None:
    _register(client, idp)
    make_workspace(client, "alpha")
    robot = make_user(client, "robot@example.com")
    add_member(client, "alpha", robot["id"], "admin")
    _link(client, robot["id"], "machine")
    token = _machine_token(idp)

    me = ok(client.get("/api/v1/me", headers=bearer(token)))

    assert me["user"]["id"] == robot["id"]
    assert me["authenticated_by"] == "identity provider corp"
    assert me["workspaces"] == {"alpha": "admin"}
    assert ok(client.get("/api/v1/workspaces/alpha", headers=bearer(token)))["slug"] == "alpha"
    assert client.post("/api/v1/workspaces", json={"slug": "beta"}, headers=bearer(token)).status_code == 403


def test_a_verified_email_finds_the_user_when_no_subject_is_linked(
    client: TestClient, idp: OidcProvider
) -> None:
    _register(client, idp)
    person = make_user(client, "Test-User@example.test", org_role="auditor")
    token = _user_token(idp)
    assert _claims(token)["email_verified"] is True

    me = ok(client.get("/api/v1/me", headers=bearer(token)))

    assert me["user"]["id"] == person["id"] and me["org_role"] == "auditor"


def test_a_configured_audience_is_accepted_besides_the_control_planes_url(
    client: TestClient, idp: OidcProvider
) -> None:
    _register(client, idp, audiences=["https://admin.example.test"])
    robot = make_user(client, "robot@example.com")
    _link(client, robot["id"], "machine")

    token = _machine_token(idp, audience="https://admin.example.test")

    assert ok(client.get("/api/v1/me", headers=bearer(token)))["user"]["id"] == robot["id"]


def test_a_token_for_another_audience_is_refused(client: TestClient, idp: OidcProvider) -> None:
    _register(client, idp)
    robot = make_user(client, "robot@example.com")
    _link(client, robot["id"], "machine")

    token = _machine_token(idp, audience="http://127.0.0.1:8080/py/mcp")

    assert "audience" in _refused(client, token)


def test_a_provider_without_admin_login_logs_nobody_in(client: TestClient, idp: OidcProvider) -> None:
    _register(client, idp, admin_login=False)
    robot = make_user(client, "robot@example.com")
    _link(client, robot["id"], "machine")

    assert "admin login" in _refused(client, _machine_token(idp))

    ok(client.patch("/api/v1/identity-providers/corp", json={"admin_login": True}))
    assert ok(client.get("/api/v1/me", headers=bearer(_machine_token(idp))))["user"]["id"] == robot["id"]


def test_an_unknown_subject_without_an_email_is_refused_with_the_reason(
    client: TestClient, idp: OidcProvider
) -> None:
    _register(client, idp)

    detail = _refused(client, _machine_token(idp))

    assert "no user matches" in detail and "no email" in detail


def test_an_email_that_no_user_has_is_refused(client: TestClient, idp: OidcProvider) -> None:
    _register(client, idp)
    make_user(client, "someone-else@example.test")

    assert "no user has its email" in _refused(client, _user_token(idp))


def test_a_disabled_user_cannot_log_in(client: TestClient, idp: OidcProvider) -> None:
    _register(client, idp)
    robot = make_user(client, "robot@example.com")
    _link(client, robot["id"], "machine")
    ok(client.patch(f"/api/v1/users/{robot['id']}", json={"disabled": True}))

    assert "disabled" in _refused(client, _machine_token(idp))


def test_an_algorithm_outside_the_providers_list_is_refused(client: TestClient, idp: OidcProvider) -> None:
    _register(client, idp, algorithms=["RS256"])
    robot = make_user(client, "robot@example.com")
    _link(client, robot["id"], "machine")

    assert "algorithm ES256 is not allowed" in _refused(client, _machine_token(idp))


def test_a_token_with_a_tampered_payload_is_refused(client: TestClient, idp: OidcProvider) -> None:
    _register(client, idp)
    root = make_user(client, "root@example.com", org_role="admin")
    _link(client, root["id"], "root")
    header, _payload, signature = _machine_token(idp).split(".")
    claims = _claims(_machine_token(idp)) | {"sub": "root"}
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    assert "signature" in _refused(client, f"{header}.{forged_payload}.{signature}")


def test_a_required_claim_of_the_provider_applies_to_admin_login(
    client: TestClient, idp: OidcProvider
) -> None:
    _register(client, idp, required_claims={"tenant": "present"})
    robot = make_user(client, "robot@example.com")
    _link(client, robot["id"], "machine")

    assert "tenant" in _refused(client, _machine_token(idp))


def test_only_organization_level_providers_may_log_admins_in(client: TestClient, idp: OidcProvider) -> None:
    make_workspace(client, "alpha")
    body = {"slug": "ws-idp", "workspace": "alpha", "issuer": idp.issuer, "admin_login": True}
    assert client.post("/api/v1/identity-providers", json=body).status_code == 422

    ok(client.post("/api/v1/identity-providers", json={**body, "admin_login": False}), 201)
    refused = client.patch("/api/v1/identity-providers/ws-idp", json={"admin_login": True})
    assert refused.status_code == 422 and "no workspace" in refused.json()["detail"]


def test_signing_keys_are_refetched_on_an_unknown_kid_at_most_once_per_interval(
    idp: OidcProvider,
) -> None:
    now = [1000.0]
    keys = SigningKeys(min_refresh_seconds=30.0, clock=lambda: now[0])
    known = idp.jwks()["keys"][0]["kid"]

    assert keys.key(issuer=idp.issuer, jwks_uri="", kid=known) is not None  # discovered
    assert keys.fetches == 1
    assert keys.key(issuer=idp.issuer, jwks_uri="", kid=known) is not None
    assert keys.fetches == 1  # cached

    assert keys.key(issuer=idp.issuer, jwks_uri="", kid="made-up") is None
    assert keys.key(issuer=idp.issuer, jwks_uri="", kid="made-up-2") is None
    assert keys.fetches == 1  # the last fetch is too recent

    now[0] += 31
    assert keys.key(issuer=idp.issuer, jwks_uri="", kid="made-up") is None
    assert keys.fetches == 2
    assert keys.key(issuer=idp.issuer, jwks_uri="", kid="made-up") is None
    assert keys.fetches == 2


@pytest.mark.parametrize("value", ["not-a-jwt", "a.b.c", ""])
def test_garbage_bearer_tokens_are_refused_with_401(client: TestClient, value: str) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})

    assert response.status_code == 401

"""Callers of the admin API with real credentials: users, their roles, and admin API tokens.

``tenants(client)`` builds two workspaces, ``alpha`` and ``beta``, one user per role with an
admin token each, and real resources of every kind in both workspaces (as the bootstrap
admin, through the API), so authorization tests call routes exactly as a client would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from control_plane.models import AuditEvent
from tests.control_plane.access_kit import add_member, make_grant, make_team, make_user
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import make_server, make_workspace

ROLES = {
    # caller name -> (organization role, {workspace: role})
    "org-admin": ("admin", {}),
    "org-auditor": ("auditor", {}),
    "alpha-admin": ("none", {"alpha": "admin"}),
    "alpha-auditor": ("none", {"alpha": "auditor"}),
    "alpha-member": ("none", {"alpha": "member"}),
    "beta-admin": ("none", {"beta": "admin"}),
    "nobody": ("none", {}),
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ok(response: Any, code: int = 200) -> Any:
    assert response.status_code == code, response.text
    return response.json() if code != 204 else None


def admin_token(client: TestClient, user_id: str, name: str = "cli", **fields: Any) -> dict[str, Any]:
    """An admin API token for ``user_id``, created by the bootstrap admin (the response, with ``token``)."""
    created: dict[str, Any] = ok(
        client.post("/api/v1/admin-tokens", json={"name": name, "user_id": user_id, **fields}), 201
    )
    return created


def email_of(caller: str) -> str:
    return f"{caller}@example.com"


@dataclass
class Tenants:
    """Who may call, and what exists in each workspace."""

    tokens: dict[str, str] = field(default_factory=dict)
    """Caller name (a key of :data:`ROLES`) -> admin API token."""
    users: dict[str, str] = field(default_factory=dict)
    """Caller name -> user id."""
    ids: dict[str, dict[str, str]] = field(default_factory=dict)
    """Workspace slug -> resource kind -> id or slug of that workspace's resource."""

    def headers(self, caller: str) -> dict[str, str]:
        return bearer(self.tokens[caller])


def _workspace_resources(client: TestClient, ws: str, provider_slug: str) -> dict[str, str]:
    """A server, virtual server, key, identity provider, team, grant, webhook and audit event of
    workspace ``ws``."""
    server = f"{ws}-srv"
    make_server(client, server, workspace=ws)
    key = ok(
        client.post("/api/v1/keys", json={"name": f"{ws}-key", "workspace": ws, "servers": [server]}), 201
    )
    idp = {
        "slug": f"{ws}-idp",
        "workspace": ws,
        "issuer": f"https://{ws}.idp.example.test",
        "servers": [server],
    }
    ok(client.post("/api/v1/identity-providers", json=idp), 201)
    team = make_team(client, ws, f"{ws}-team")
    grant = make_grant(client, f"{ws}-grant", server, "workspace", ws)
    virtual = {"slug": f"{ws}-virtual", "workspace": ws, "members": [{"server": server}]}
    ok(client.post("/api/v1/virtual-servers", json=virtual), 201)
    ok(client.put(f"/api/v1/workspaces/{ws}/authz-webhook", json={"url": f"https://{ws}.hook.example.test"}))
    ok(client.put(f"/api/v1/workspaces/{ws}/authn-webhook", json={"url": f"https://{ws}.authn.example.test"}))
    with state_of(client).db.transaction() as session:
        session.add(
            AuditEvent(
                event_id=f"{ws}-event",
                time=datetime(2026, 1, 1, tzinfo=UTC),
                workspace=ws,
                server=server,
                key_id=key["id"],
                key_name=key["name"],
                status="ok",
            )
        )
    return {
        "workspace": ws,
        "server": server,
        "key": key["id"],
        "identity_provider": idp["slug"],
        "team": team["id"],
        "grant": grant["id"],
        "virtual_server": virtual["slug"],
        "event": f"{ws}-event",
        "org_provider": provider_slug,
    }


def tenants(client: TestClient) -> Tenants:
    """Workspaces ``alpha`` and ``beta`` with resources, and one user with a token per role."""
    built = Tenants()
    for ws in ("alpha", "beta"):
        make_workspace(client, ws)
    ok(
        client.post(
            "/api/v1/identity-providers", json={"slug": "org-idp", "issuer": "https://org.idp.example.test"}
        ),
        201,
    )
    for caller, (org_role, memberships) in ROLES.items():
        user = make_user(client, email_of(caller), org_role=org_role)
        built.users[caller] = user["id"]
        for ws, role in memberships.items():
            add_member(client, ws, user["id"], role)
        built.tokens[caller] = admin_token(client, user["id"])["token"]
    for ws in ("alpha", "beta"):
        built.ids[ws] = _workspace_resources(client, ws, "org-idp")
        admin = f"{ws}-admin"
        built.ids[ws]["user"] = built.users[admin]
        built.ids[ws]["member_user"] = built.users[admin]
        built.ids[ws]["admin_token"] = admin_token(client, built.users[admin], name=f"{ws}-admin-2")["id"]
        identity = ok(
            client.post(
                f"/api/v1/users/{built.users[admin]}/identities",
                json={"provider": "org-idp", "subject": f"{ws}-subject"},
            ),
            201,
        )
        built.ids[ws]["identity"] = identity["id"]
    return built

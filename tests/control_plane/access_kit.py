"""Helpers for access-control API tests: users, members, and calling the admin API as one of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from control_plane.api.actor import Actor
from control_plane.api.deps import require_admin
from control_plane.models import User, WorkspaceMember
from tests.control_plane.conftest import state_of


def make_user(client: TestClient, email: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/users", json={"email": email, **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def add_member(client: TestClient, workspace: str, user: str, role: str = "member") -> None:
    response = client.post(f"/api/v1/workspaces/{workspace}/members", json={"user": user, "role": role})
    assert response.status_code == 201, response.text


def make_team(client: TestClient, workspace: str, slug: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/teams", json={"workspace": workspace, "slug": slug, **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def make_grant(
    client: TestClient, name: str, server: str, kind: str, subject: str, **rules: Any
) -> dict[str, Any]:
    body = {"name": name, "server": server, "subject": {"kind": kind, "id": subject}, **rules}
    response = client.post("/api/v1/grants", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def actor_of(client: TestClient, email: str) -> Actor:
    """The admin-API caller a user is: their organization role and workspace memberships."""
    with state_of(client).db.session() as session:
        user = session.exec(select(User).where(User.email == email)).one()
        roles = {
            m.workspace_id: m.role
            for m in session.exec(select(WorkspaceMember).where(WorkspaceMember.user_id == user.id))
        }
        return Actor(label=f"user {email}", user_id=user.id, org_role=user.org_role, workspace_roles=roles)


@contextmanager
def acting_as(client: TestClient, email: str) -> Iterator[None]:
    """Call the admin API as ``email`` (roles read now) instead of as the bootstrap admin."""
    actor = actor_of(client, email)
    overrides = client.app.dependency_overrides  # type: ignore[attr-defined]
    overrides[require_admin] = lambda: actor
    try:
        yield
    finally:
        overrides.pop(require_admin, None)

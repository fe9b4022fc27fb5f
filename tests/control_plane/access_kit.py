"""Helpers for access-control API tests: users, members, and calling the admin API as one of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from control_plane.api.actor import Actor
from control_plane.api.deps import require_admin
from control_plane.models import User, WorkspaceMember
from control_plane.settings import ControlPlaneSettings
from tests.control_plane.conftest import ADMIN_TOKEN, state_of


@pytest.fixture(name="settings", params=["sqlite", "postgresql"])
def settings_on_both_databases(request: pytest.FixtureRequest, tmp_path: Path) -> ControlPlaneSettings:
    """The ``settings`` fixture, once on SQLite and once on a fresh PostgreSQL database.

    A test module opts in with ``from tests.control_plane.access_kit import settings_on_both_databases``.
    """
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path / 'control-plane.db'}"
    )
    return ControlPlaneSettings(
        state_dir=tmp_path / "state",
        database_url=url,
        admin_token=ADMIN_TOKEN,
        master_key="",
        discovery_timeout_seconds=5.0,
    )


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

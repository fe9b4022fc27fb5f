"""Small helpers for control-plane API tests."""

from __future__ import annotations

from fastapi.testclient import TestClient

from control_plane.repos import revisions
from tests.control_plane.conftest import state_of


def latest_revision(client: TestClient) -> int:
    """The newest config revision id in the app's database."""
    with state_of(client).db.session() as session:
        return revisions.latest(session)


def make_workspace(client: TestClient, slug: str = "demo") -> None:
    response = client.post("/api/v1/workspaces", json={"slug": slug, "name": slug.title()})
    assert response.status_code == 201, response.text


def make_server(
    client: TestClient, slug: str, *, workspace: str = "demo", url: str = "http://127.0.0.1:9/mcp"
) -> None:
    body = {"slug": slug, "workspace": workspace, "url": url, "discover": False}
    response = client.post("/api/v1/servers", json=body)
    assert response.status_code == 201, response.text

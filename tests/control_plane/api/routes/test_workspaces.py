"""``/api/v1/workspaces``."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.control_plane.helpers import latest_revision, make_server, make_workspace


def test_a_created_workspace_is_listed_and_readable(client: TestClient) -> None:
    response = client.post("/api/v1/workspaces", json={"slug": "team-a", "name": "Team A"})

    assert response.status_code == 201
    created = response.json()
    assert created["slug"] == "team-a" and created["name"] == "Team A" and created["id"]
    assert client.get("/api/v1/workspaces/team-a").json() == created
    assert [w["slug"] for w in client.get("/api/v1/workspaces").json()] == ["team-a"]


def test_creating_a_workspace_records_a_revision(client: TestClient) -> None:
    before = latest_revision(client)
    make_workspace(client)
    assert latest_revision(client) == before + 1


def test_a_duplicate_workspace_slug_is_a_conflict(client: TestClient) -> None:
    make_workspace(client)
    response = client.post("/api/v1/workspaces", json={"slug": "demo"})
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_a_slug_that_is_not_url_safe_is_refused_with_422(client: TestClient) -> None:
    assert client.post("/api/v1/workspaces", json={"slug": "Not A Slug"}).status_code == 422


def test_an_unknown_workspace_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/workspaces/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_an_empty_workspace_can_be_deleted(client: TestClient) -> None:
    make_workspace(client)
    assert client.delete("/api/v1/workspaces/demo").status_code == 204
    assert client.get("/api/v1/workspaces/demo").status_code == 404


def test_a_workspace_that_owns_a_server_cannot_be_deleted(client: TestClient) -> None:
    make_workspace(client)
    make_server(client, "py")

    response = client.delete("/api/v1/workspaces/demo")

    assert response.status_code == 409
    assert "1 server" in response.json()["detail"]
    assert client.get("/api/v1/workspaces/demo").status_code == 200


def test_a_workspace_that_owns_a_key_cannot_be_deleted(client: TestClient) -> None:
    make_workspace(client)
    assert client.post("/api/v1/keys", json={"name": "k", "workspace": "demo"}).status_code == 201
    assert client.delete("/api/v1/workspaces/demo").status_code == 409

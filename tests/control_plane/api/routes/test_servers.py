"""``/api/v1/servers``: registration, header secrecy, tool discovery against a real MCP server."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import free_port
from tests.control_plane.conftest import UpstreamServer, state_of
from tests.control_plane.helpers import latest_revision, make_server, make_workspace

SECRET_HEADER = "upstream-secret-value-7f3a"


def _register(client: TestClient, url: str, **extra: object) -> dict[str, object]:
    body = {"slug": "py", "workspace": "demo", "url": url, "headers": {"X-Api-Key": SECRET_HEADER}, **extra}
    response = client.post("/api/v1/servers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_registering_a_server_discovers_its_tools(client: TestClient, upstream: UpstreamServer) -> None:
    make_workspace(client)

    created = _register(client, upstream.url)

    assert created["discovery_error"] == "" and created["discovered_at"]
    tools = client.get("/api/v1/servers/py/tools").json()
    assert [t["name"] for t in tools] == ["add", "echo"]
    assert all(len(t["definition_hash"]) == 64 for t in tools)
    assert upstream.seen_headers[0]["x-api-key"] == SECRET_HEADER


def test_header_values_are_never_returned_only_their_names(client: TestClient) -> None:
    make_workspace(client)
    created = _register(client, "http://127.0.0.1:9/mcp", discover=False)

    for body in (created, client.get("/api/v1/servers/py").json(), client.get("/api/v1/servers").json()):
        assert SECRET_HEADER not in json.dumps(body)
    assert created["header_names"] == ["X-Api-Key"]


def test_header_values_are_stored_encrypted(client: TestClient) -> None:
    make_workspace(client)
    _register(client, "http://127.0.0.1:9/mcp", discover=False)

    state = state_of(client)
    with state.db.session() as session:
        row = session.execute(text("SELECT * FROM server")).mappings().one()
    assert SECRET_HEADER not in json.dumps({k: str(v) for k, v in row.items()})
    assert json.loads(state.secrets.decrypt(row["headers_encrypted"])) == {"X-Api-Key": SECRET_HEADER}


def test_an_unreachable_upstream_does_not_fail_registration(client: TestClient) -> None:
    make_workspace(client)

    created = _register(client, f"http://127.0.0.1:{free_port()}/mcp")

    assert "cannot connect" in str(created["discovery_error"])
    assert client.get("/api/v1/servers/py/tools").json() == []


def test_rediscovery_of_an_unreachable_upstream_is_a_502_and_is_remembered(client: TestClient) -> None:
    make_workspace(client)
    _register(client, f"http://127.0.0.1:{free_port()}/mcp", discover=False)

    response = client.post("/api/v1/servers/py/discover")

    assert response.status_code == 502
    assert "cannot connect" in response.json()["detail"]
    assert "cannot connect" in client.get("/api/v1/servers/py").json()["discovery_error"]


def test_rediscovery_fetches_the_catalog_and_records_a_revision(
    client: TestClient, upstream: UpstreamServer
) -> None:
    make_workspace(client)
    _register(client, upstream.url, discover=False)
    before = latest_revision(client)

    response = client.post("/api/v1/servers/py/discover")

    assert response.status_code == 200
    assert {t["name"] for t in response.json()} == {"echo", "add"}
    assert latest_revision(client) == before + 1
    client.post("/api/v1/servers/py/discover")
    assert latest_revision(client) == before + 1, "an unchanged catalog is not a new revision"


def test_a_server_needs_an_existing_workspace(client: TestClient) -> None:
    response = client.post("/api/v1/servers", json={"slug": "py", "workspace": "nope", "url": "http://x/mcp"})
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_a_duplicate_server_slug_is_a_conflict(client: TestClient) -> None:
    make_workspace(client)
    make_server(client, "py")
    body = {"slug": "py", "workspace": "demo", "url": "http://x/mcp", "discover": False}
    assert client.post("/api/v1/servers", json=body).status_code == 409


def test_servers_can_be_listed_by_workspace(client: TestClient) -> None:
    make_workspace(client, "a")
    make_workspace(client, "b")
    make_server(client, "one", workspace="a")
    make_server(client, "two", workspace="b")

    assert [s["slug"] for s in client.get("/api/v1/servers", params={"workspace": "b"}).json()] == ["two"]
    assert [s["slug"] for s in client.get("/api/v1/servers").json()] == ["one", "two"]


def test_patch_changes_only_the_given_fields_and_records_a_revision(client: TestClient) -> None:
    make_workspace(client)
    make_server(client, "py")
    before = latest_revision(client)

    response = client.patch("/api/v1/servers/py", json={"timeout_seconds": 5, "headers": {"X-New": "v"}})

    assert response.status_code == 200
    assert response.json()["timeout_seconds"] == 5
    assert response.json()["url"] == "http://127.0.0.1:9/mcp"
    assert response.json()["header_names"] == ["X-New"]
    assert latest_revision(client) == before + 1


def test_deleting_a_server_removes_its_tools_and_every_key_scope_naming_it(
    client: TestClient, upstream: UpstreamServer
) -> None:
    make_workspace(client)
    _register(client, upstream.url)
    make_server(client, "other")
    key = client.post(
        "/api/v1/keys",
        json={"name": "k", "workspace": "demo", "servers": ["py", "other"], "tools": {"py": ["echo"]}},
    ).json()

    assert client.delete("/api/v1/servers/py").status_code == 204

    assert client.get("/api/v1/servers/py").status_code == 404
    scoped = client.get(f"/api/v1/keys/{key['id']}").json()
    assert scoped["servers"] == ["other"] and scoped["tools"] == {}
    with state_of(client).db.session() as session:
        assert session.execute(text("SELECT count(*) FROM tool")).scalar_one() == 0


def test_deleting_the_only_server_of_a_key_scope_revokes_the_key(
    client: TestClient, upstream: UpstreamServer
) -> None:
    make_workspace(client)
    _register(client, upstream.url)
    key = client.post(
        "/api/v1/keys", json={"name": "k", "workspace": "demo", "tools": {"py": ["echo"]}}
    ).json()

    assert client.delete("/api/v1/servers/py").status_code == 204

    revoked = client.get(f"/api/v1/keys/{key['id']}").json()
    assert revoked["revoked_at"] is not None and revoked["tools"] == {}

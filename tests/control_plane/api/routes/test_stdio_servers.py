"""``/api/v1/servers`` with ``transport: stdio``: validation, write-only env, discovery by launch.

Discovery launches the official-SDK stdio test server (``tests/servers/stdio_server.py``) with
the official client's stdio transport, as the control plane does for any stdio server.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from control_plane.compiler import compile_group
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.discovery import DiscoveryFailed, StdioTarget, discover_stdio_tools
from control_plane.models import DataPlaneGroup, ServerCreate, WorkspaceCreate
from control_plane.repos import servers, workspaces
from control_plane.rotation import reencrypt_all
from shared import keyfiles, sealing
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import latest_revision, make_workspace

STDIO_SERVER = str(Path(__file__).resolve().parents[3] / "servers" / "stdio_server.py")
ENV_SECRET = "stdio-env-secret-9c41"


def _stdio(**extra: Any) -> dict[str, Any]:
    return {
        "slug": "st",
        "workspace": "demo",
        "transport": "stdio",
        "command": sys.executable,
        "args": [STDIO_SERVER],
        "env": {"API_TOKEN": ENV_SECRET},
        **extra,
    }


def test_registering_a_stdio_server_launches_it_to_discover_its_tools(client: TestClient) -> None:
    make_workspace(client)

    response = client.post("/api/v1/servers", json=_stdio(max_processes=2, cwd=os.getcwd()))

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["discovery_error"] == ""
    assert (created["transport"], created["command"], created["args"]) == (
        "stdio",
        sys.executable,
        [STDIO_SERVER],
    )
    assert (created["url"], created["env_names"], created["max_processes"]) == ("", ["API_TOKEN"], 2)
    names = [tool["name"] for tool in client.get("/api/v1/servers/st/tools").json()]
    assert {"echo", "env_keys", "exit"} <= set(names)


def test_env_values_are_write_only_and_stored_encrypted(client: TestClient) -> None:
    make_workspace(client)
    created = client.post("/api/v1/servers", json=_stdio(discover=False)).json()

    for body in (created, client.get("/api/v1/servers/st").json(), client.get("/api/v1/servers").json()):
        assert ENV_SECRET not in json.dumps(body)
    state = state_of(client)
    with state.db.session() as session:
        row = session.execute(text("SELECT * FROM server")).mappings().one()
        assert servers.open_env(state.secrets, servers.get(session, slug="st")) == {"API_TOKEN": ENV_SECRET}
    assert ENV_SECRET not in json.dumps({k: str(v) for k, v in row.items()})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_stdio(command=""), "needs a command"),
        (_stdio(url="http://127.0.0.1:9/mcp"), "no url"),
        (_stdio(headers={"X-Api-Key": "k"}), "no headers"),
        (_stdio(auth={"type": "bearer", "token": "t"}), "no headers, auth"),
        (_stdio(min_processes=3, max_processes=2), "min_processes"),
        (_stdio(max_processes=0), "max_processes"),
        (_stdio(env={"BAD-NAME": "x"}), "env"),
        (_stdio(args=["a\x00b"]), "NUL"),
        (
            {"slug": "h", "workspace": "demo", "url": "http://127.0.0.1:9/mcp", "command": "x"},
            "for stdio servers",
        ),
        ({"slug": "h", "workspace": "demo"}, "needs a url"),
    ],
)
def test_fields_that_do_not_fit_the_transport_are_refused_with_422(
    client: TestClient, body: dict[str, Any], reason: str
) -> None:
    make_workspace(client)
    response = client.post("/api/v1/servers", json={**body, "discover": False})
    assert response.status_code == 422
    assert reason in response.text


def test_a_command_that_cannot_start_is_kept_with_its_discovery_error(client: TestClient) -> None:
    make_workspace(client)
    response = client.post("/api/v1/servers", json=_stdio(command="/nonexistent/mcp-server"))
    assert response.status_code == 201
    assert "cannot start" in response.json()["discovery_error"]
    assert ENV_SECRET not in response.json()["discovery_error"]
    failed = client.post("/api/v1/servers/st/discover")
    assert failed.status_code == 502


def test_patching_env_replaces_it_and_a_url_on_a_stdio_server_is_refused(client: TestClient) -> None:
    make_workspace(client)
    client.post("/api/v1/servers", json=_stdio(discover=False))
    before = latest_revision(client)

    patched = client.patch("/api/v1/servers/st", json={"env": {"OTHER": "v"}, "max_processes": 1})
    refused = client.patch("/api/v1/servers/st", json={"url": "http://127.0.0.1:9/mcp"})

    assert patched.status_code == 200
    assert (patched.json()["env_names"], patched.json()["max_processes"]) == (["OTHER"], 1)
    assert latest_revision(client) > before
    assert refused.status_code == 422
    assert "no url" in refused.text
    assert client.get("/api/v1/servers/st").json()["url"] == ""


def test_the_snapshot_carries_the_launch_with_env_values_sealed_to_the_group(client: TestClient) -> None:
    make_workspace(client)
    client.post("/api/v1/servers", json=_stdio(discover=False, min_processes=1))
    state = state_of(client)
    group_key = keyfiles.generate("X25519")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with state.db.transaction() as session:
        group = DataPlaneGroup(name="stdio-group", public_key=keyfiles.public_jwk(group_key))
        session.add(group)
    with state.db.session() as session:
        first = compile_group(session, group=group, secrets=state.secrets, now=now)
        second = compile_group(session, group=group, secrets=state.secrets, now=now)

    entry = first.snapshot.servers["st"]
    assert entry.transport == "stdio" and entry.url == "" and entry.stdio is not None
    assert (entry.stdio.command, entry.stdio.args, entry.stdio.min_processes) == (
        sys.executable,
        [STDIO_SERVER],
        1,
    )
    assert ENV_SECRET not in first.snapshot.model_dump_json()
    assert sealing.unseal(entry.stdio.env["API_TOKEN"].sealed, group_key) == ENV_SECRET
    assert first.content_key == second.content_key, "sealing anew is no change"


def test_master_key_rotation_reencrypts_stdio_env(tmp_path: Path) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    db = Database(f"sqlite:///{tmp_path / 'cp.db'}")
    db.migrate()
    try:
        with db.transaction() as session:
            workspaces.create(session, data=WorkspaceCreate(slug="demo"))
        with db.transaction() as session:
            servers.create(session, data=ServerCreate.model_validate(_stdio()), secrets=SecretBox(old_key))

        assert reencrypt_all(db, SecretBox(new_key, [old_key])) == 2  # headers (empty mapping) and env
        with db.session() as session:
            stored = servers.get(session, slug="st")
            assert servers.open_env(SecretBox(new_key), stored) == {"API_TOKEN": ENV_SECRET}
    finally:
        db.dispose()


def test_gateway_yaml_registers_a_stdio_server_and_a_changed_env_asks_for_discovery_again(
    client: TestClient,
) -> None:
    server = _stdio()
    document = {"workspaces": [{"slug": "demo"}], "servers": [server]}

    created = client.post("/api/v1/apply", json=document)
    again = client.post("/api/v1/apply", json=document)
    changed = client.post(
        "/api/v1/apply", json={**document, "servers": [{**server, "env": {"API_TOKEN": "new"}}]}
    )
    refused = client.post("/api/v1/apply", json={**document, "servers": [{**server, "url": "http://x/mcp"}]})

    assert created.status_code == 200, created.text
    assert [s["action"] for s in created.json()["servers"]] == ["created"]
    assert created.json()["discovery_errors"] == {}
    assert [s["action"] for s in again.json()["servers"]] == ["unchanged"]
    assert [s["action"] for s in changed.json()["servers"]] == ["updated"]
    assert refused.status_code == 422 and "no url" in refused.text
    assert {"echo", "exit"} <= {tool["name"] for tool in client.get("/api/v1/servers/st/tools").json()}
    assert ENV_SECRET not in created.text


async def test_discovery_of_a_stdio_server_that_exits_at_once_fails_with_a_reason() -> None:
    target = StdioTarget(command=sys.executable, args=("-c", "import sys; sys.exit(2)"))
    with pytest.raises(DiscoveryFailed, match="Connection closed"):
        await discover_stdio_tools(target=target, timeout=10)

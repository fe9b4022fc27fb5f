"""``/api/v1/servers`` with ``transport: sse`` (legacy HTTP+SSE, MCP 2024-11-05).

Discovery reaches the official-SDK echo server on its SSE transport with the official client's
``sse_client``, sending the server's static headers (the server refuses requests without them).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from control_plane.compiler import compile_group
from control_plane.models import DataPlaneGroup
from shared import keyfiles, sealing
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import make_workspace
from tests.data_plane.conftest import echo_server

API_KEY = "sse-upstream-key-4410"


@pytest.fixture(scope="module")
def legacy_upstream() -> Iterator[str]:
    """The SSE URL of an official-SDK server on the legacy transport, requiring ``X-Api-Key``."""
    with echo_server("--sse", "--require-header", f"X-Api-Key={API_KEY}") as (url, _):
        yield url


def _sse(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "slug": "old",
        "workspace": "demo",
        "transport": "sse",
        "url": url,
        "headers": {"X-Api-Key": API_KEY},
        **extra,
    }


def test_registering_an_sse_server_discovers_its_tools_over_the_legacy_transport(
    client: TestClient, legacy_upstream: str
) -> None:
    make_workspace(client)

    response = client.post("/api/v1/servers", json=_sse(legacy_upstream))

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["discovery_error"] == ""
    assert (created["transport"], created["url"], created["header_names"]) == (
        "sse",
        legacy_upstream,
        ["X-Api-Key"],
    )
    names = {tool["name"] for tool in client.get("/api/v1/servers/old/tools").json()}
    assert {"echo", "add", "ask_name"} <= names


def test_discovery_without_the_servers_credential_records_the_reason(
    client: TestClient, legacy_upstream: str
) -> None:
    make_workspace(client)
    response = client.post("/api/v1/servers", json=_sse(legacy_upstream, headers={}))
    assert response.status_code == 201
    assert "401" in response.json()["discovery_error"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_sse(""), "needs the url of its event stream"),
        (_sse("ftp://127.0.0.1:9/sse"), "http:// or https://"),
        (_sse("http://127.0.0.1:9/sse", command="npx"), "for stdio servers"),
        (_sse("http://127.0.0.1:9/sse", transport="websocket"), "transport"),
    ],
)
def test_sse_fields_that_do_not_fit_are_refused_with_422(
    client: TestClient, body: dict[str, Any], reason: str
) -> None:
    make_workspace(client)
    response = client.post("/api/v1/servers", json={**body, "discover": False})
    assert response.status_code == 422
    assert reason in response.text


def test_the_snapshot_carries_an_sse_server_with_its_headers_sealed(client: TestClient) -> None:
    make_workspace(client)
    client.post("/api/v1/servers", json=_sse("http://127.0.0.1:9/sse", discover=False))
    state = state_of(client)
    group_key = keyfiles.generate("X25519")
    with state.db.transaction() as session:
        group = DataPlaneGroup(name="sse-group", public_key=keyfiles.public_jwk(group_key))
        session.add(group)
    with state.db.session() as session:
        compiled = compile_group(
            session, group=group, secrets=state.secrets, now=datetime(2030, 1, 1, tzinfo=UTC)
        )

    entry = compiled.snapshot.servers["old"]
    assert (entry.transport, entry.url, entry.stdio) == ("sse", "http://127.0.0.1:9/sse", None)
    assert API_KEY not in compiled.snapshot.model_dump_json()
    assert sealing.unseal(entry.headers["X-Api-Key"].sealed, group_key) == API_KEY


def test_gateway_yaml_registers_an_sse_server_and_a_changed_transport_asks_for_discovery_again(
    client: TestClient, legacy_upstream: str
) -> None:
    server = _sse(legacy_upstream)
    document = {"workspaces": [{"slug": "demo"}], "servers": [server]}

    created = client.post("/api/v1/apply", json=document)
    again = client.post("/api/v1/apply", json=document)
    moved = {**server, "transport": "streamable-http"}
    changed = client.post("/api/v1/apply", json={**document, "servers": [moved]})
    refused = client.post("/api/v1/apply", json={**document, "servers": [{**server, "url": ""}]})

    assert created.status_code == 200, created.text
    assert [s["action"] for s in created.json()["servers"]] == ["created"]
    assert created.json()["discovery_errors"] == {}
    assert [s["action"] for s in again.json()["servers"]] == ["unchanged"]
    assert [s["action"] for s in changed.json()["servers"]] == ["updated"]
    assert "old" in changed.json()["discovery_errors"], "rediscovered over Streamable HTTP, which /sse is not"
    assert refused.status_code == 422 and "needs the url of its event stream" in refused.text
    assert API_KEY not in created.text

"""``POST /api/v1/apply``: declarative, idempotent, one transaction, one revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient

from control_plane.apply import parse_document
from shared import apikeys
from tests.conftest import free_port
from tests.control_plane.conftest import UpstreamServer
from tests.control_plane.helpers import latest_revision

EXAMPLE = Path(__file__).resolve().parents[4] / "docs" / "examples" / "gateway.yaml"


def _document(url: str) -> dict[str, Any]:
    return {
        "workspaces": [{"slug": "demo"}],
        "servers": [
            {"slug": "py", "workspace": "demo", "url": url, "headers": {"X-Api-Key": "upstream-secret"}}
        ],
        "keys": [
            {
                "name": "probe",
                "workspace": "demo",
                "secret": "mcpgw_dev_probe_0123456789abcdef",
                "servers": ["py"],
            },
            {
                "name": "narrow",
                "workspace": "demo",
                "tools": {"py": ["echo"]},
                "expires_at": "2030-01-01T00:00:00Z",
            },
        ],
    }


def _apply(client: TestClient, document: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/apply", json=document)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_first_apply_creates_everything_in_one_revision(
    client: TestClient, upstream: UpstreamServer
) -> None:
    before = latest_revision(client)

    result = _apply(client, _document(upstream.url))

    assert result["workspaces"] == [{"slug": "demo", "action": "created"}]
    assert result["servers"] == [{"slug": "py", "action": "created"}]
    assert [(k["name"], k["action"]) for k in result["keys"]] == [("probe", "created"), ("narrow", "created")]
    assert "secret" not in result["keys"][0], "a given secret is not echoed back"
    assert result["keys"][1]["secret"].startswith(apikeys.PREFIX), "a generated secret is shown once"
    assert result["discovery_errors"] == {}
    assert {t["name"] for t in client.get("/api/v1/servers/py/tools").json()} == {"echo", "add"}
    # One revision for the document, one for the catalog discovered after it.
    assert latest_revision(client) == before + 2


def test_applying_the_same_document_twice_changes_nothing_the_second_time(
    client: TestClient, upstream: UpstreamServer
) -> None:
    document = _document(upstream.url)
    _apply(client, document)
    before = latest_revision(client)
    requests_before = len(upstream.seen_headers)

    again = _apply(client, document)

    actions = [item["action"] for section in ("workspaces", "servers", "keys") for item in again[section]]
    assert set(actions) == {"unchanged"}
    assert all("secret" not in key for key in again["keys"]), "an existing key keeps its secret"
    assert latest_revision(client) == before
    assert len(upstream.seen_headers) == requests_before, "unchanged servers are not rediscovered"


def test_changed_items_are_updated_and_a_new_secret_replaces_the_old_hash(client: TestClient) -> None:
    document = _document(f"http://127.0.0.1:{free_port()}/mcp")
    _apply(client, document)
    document["keys"][0]["secret"] = "mcpgw_dev_probe_rotated_0123456789"
    document["keys"][1]["tools"] = {"py": ["echo", "add"]}
    document["servers"][0]["timeout_seconds"] = 5

    result = _apply(client, document)

    assert result["servers"][0]["action"] == "updated"
    assert [k["action"] for k in result["keys"]] == ["updated", "updated"]
    probe = next(k for k in client.get("/api/v1/keys").json() if k["name"] == "probe")
    assert probe["prefix"] == apikeys.display_prefix("mcpgw_dev_probe_rotated_0123456789")


def test_an_unreachable_upstream_is_reported_but_the_apply_stands(client: TestClient) -> None:
    result = _apply(client, _document(f"http://127.0.0.1:{free_port()}/mcp"))

    assert "cannot connect" in result["discovery_errors"]["py"]
    assert client.get("/api/v1/servers/py").json()["discovery_error"] == result["discovery_errors"]["py"]


def test_an_unknown_field_is_refused_with_422_naming_it(client: TestClient) -> None:
    document = _document("http://127.0.0.1:9/mcp")
    document["servers"][0]["timeout"] = 5

    response = client.post("/api/v1/apply", json=document)

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["type"] == "extra_forbidden" and error["loc"][-1] == "timeout"


def test_a_failing_item_rolls_back_the_whole_document(client: TestClient) -> None:
    document = _document("http://127.0.0.1:9/mcp")
    document["keys"][1]["servers"] = ["ghost"]
    before = latest_revision(client)

    response = client.post("/api/v1/apply", json=document)

    assert response.status_code == 422
    assert "ghost" in response.json()["detail"]
    assert client.get("/api/v1/workspaces").json() == []
    assert latest_revision(client) == before


def test_the_same_item_twice_in_a_document_is_refused(client: TestClient) -> None:
    document = _document("http://127.0.0.1:9/mcp")
    document["workspaces"].append({"slug": "demo"})
    response = client.post("/api/v1/apply", json=document)
    assert response.status_code == 422
    assert "more than once" in response.json()["detail"]


def test_a_server_cannot_move_to_another_workspace(client: TestClient) -> None:
    document = _document("http://127.0.0.1:9/mcp")
    _apply(client, {"workspaces": document["workspaces"], "servers": document["servers"]})
    moved = {"workspaces": [{"slug": "other"}], "servers": [{**document["servers"][0], "workspace": "other"}]}
    assert client.post("/api/v1/apply", json=moved).status_code == 409


def test_the_documented_example_file_parses() -> None:
    document = parse_document(yaml.safe_load(EXAMPLE.read_text()))
    assert [s.slug for s in document.servers] == ["py"]
    assert document.keys[1].tools == {"py": ["echo"]}

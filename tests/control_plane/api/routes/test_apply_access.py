"""``POST /api/v1/apply`` with access control: users, members, teams, grants, webhooks, key owners."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient

from mcpgw.apply import format_result
from tests.conftest import free_port
from tests.control_plane.access_kit import settings_on_both_databases  # noqa: F401  (SQLite and PostgreSQL)
from tests.control_plane.helpers import latest_revision

UNREACHABLE = f"http://127.0.0.1:{free_port()}/mcp"
SECTIONS = (
    "workspaces",
    "servers",
    "identity_providers",
    "users",
    "members",
    "keys",
    "teams",
    "grants",
    "webhooks",
)


def _document() -> dict[str, Any]:
    return {
        "workspaces": [{"slug": "demo"}],
        "servers": [{"slug": "files", "workspace": "demo", "url": UNREACHABLE}],
        "identity_providers": [
            {
                "slug": "okta",
                "workspace": "demo",
                "issuer": "https://okta.example.com",
                "jwks_uri": "https://okta/k",
            }
        ],
        "users": [
            {
                "email": "Alice@example.com",
                "name": "Alice",
                "identities": [{"provider": "okta", "subject": "00u1"}],
            },
            {"email": "bob@example.com"},
        ],
        "members": [
            {"workspace": "demo", "user": "alice@example.com", "role": "admin"},
            {"workspace": "demo", "user": "bob@example.com"},
        ],
        "keys": [
            {
                "name": "alice-bot",
                "workspace": "demo",
                "owner": "alice@example.com",
                "tools": {"files": ["read_file"]},
            }
        ],
        "teams": [
            {
                "workspace": "demo",
                "slug": "finance",
                "claim_values": ["finance"],
                "members": ["alice@example.com"],
            }
        ],
        "grants": [
            {
                "name": "finance-read",
                "server": "files",
                "subject": {"kind": "team", "id": "finance"},
                "annotations": {"readOnlyHint": True},
            },
            {
                "name": "no-deletes",
                "server": "files",
                "subject": {"kind": "workspace", "id": "demo"},
                "effect": "deny",
                "tools": {"include": ["delete_*"]},
            },
        ],
        "webhooks": [
            {"workspace": "demo", "url": "https://authz.example.com", "headers": {"X-Api-Key": "s3cret"}}
        ],
    }


def _apply(client: TestClient, document: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post("/api/v1/apply", json=document)
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


def _actions(result: dict[str, Any]) -> dict[str, list[str]]:
    return {section: [item["action"] for item in result.get(section, [])] for section in SECTIONS}


def test_a_first_apply_creates_access_control_in_one_revision_and_a_second_changes_nothing(
    client: TestClient,
) -> None:
    before = latest_revision(client)

    first = _apply(client, _document())

    assert all(set(actions) == {"created"} for actions in _actions(first).values())
    assert latest_revision(client) == before + 1
    team = client.get("/api/v1/teams").json()[0]
    assert [m["email"] for m in client.get(f"/api/v1/teams/{team['id']}/members").json()] == [
        "alice@example.com"
    ]
    grants = {g["name"]: g for g in client.get("/api/v1/grants").json()}
    assert grants["finance-read"]["subject"]["name"] == "finance"
    assert grants["no-deletes"]["effect"] == "deny"
    alice = client.get("/api/v1/users/alice@example.com").json()
    assert alice["workspaces"] == {"demo": "admin"}
    assert [(i["provider"], i["subject"]) for i in alice["identities"]] == [("okta", "00u1")]
    key = client.get("/api/v1/keys").json()[0]
    assert key["owner"] == alice["id"]
    assert client.get("/api/v1/workspaces/demo/authz-webhook").json()["header_names"] == ["X-Api-Key"]
    after = latest_revision(client)

    second = _apply(client, _document())

    assert all(set(actions) <= {"unchanged"} for actions in _actions(second).values())
    assert latest_revision(client) == after


def test_changed_access_items_are_updated_and_lists_inside_items_are_replaced(client: TestClient) -> None:
    _apply(client, _document())
    document = _document()
    document["grants"][0]["annotations"] = {}
    document["grants"][0]["tools"] = {"include": ["read_*"]}
    document["teams"][0]["members"] = ["bob@example.com"]
    document["users"][0]["identities"] = [{"provider": "okta", "subject": "00u2"}]
    document["members"][1]["role"] = "auditor"
    before = latest_revision(client)

    result = _apply(client, document)

    assert _actions(result)["grants"] == ["updated", "unchanged"]
    assert _actions(result)["teams"] == ["updated"]
    assert _actions(result)["users"] == ["updated", "unchanged"]
    assert _actions(result)["members"] == ["unchanged", "updated"]
    assert latest_revision(client) == before + 1
    grant = next(g for g in client.get("/api/v1/grants").json() if g["name"] == "finance-read")
    assert (grant["tools"]["include"], grant["annotations"]) == (["read_*"], {})
    team = client.get("/api/v1/teams").json()[0]
    assert [m["email"] for m in client.get(f"/api/v1/teams/{team['id']}/members").json()] == [
        "bob@example.com"
    ]
    identities = client.get("/api/v1/users/alice@example.com").json()["identities"]
    assert [i["subject"] for i in identities] == ["00u2"]


def test_a_misspelt_grant_field_is_refused_rather_than_granting_everything(client: TestClient) -> None:
    document = _document()
    document["grants"][0]["tools"] = {"includes": ["read_*"]}

    response = client.post("/api/v1/apply", json=document)

    assert response.status_code == 422
    assert client.get("/api/v1/workspaces").json() == []


def test_a_grant_that_would_change_subject_is_a_conflict_and_rolls_back_the_document(
    client: TestClient,
) -> None:
    _apply(client, _document())
    document = copy.deepcopy(_document())
    document["grants"][0]["subject"] = {"kind": "workspace", "id": "demo"}
    document["teams"][0]["claim_values"] = ["changed"]
    before = latest_revision(client)

    response = client.post("/api/v1/apply", json=document)

    assert response.status_code == 409
    assert client.get("/api/v1/teams").json()[0]["claim_values"] == ["finance"]
    assert latest_revision(client) == before


def test_a_key_owner_must_be_a_member_and_does_not_change(client: TestClient) -> None:
    document = _document()
    document["members"] = document["members"][1:]
    refused = client.post("/api/v1/apply", json=document)
    assert refused.status_code == 422
    assert "member" in refused.json()["detail"]

    _apply(client, _document())
    document = _document()
    document["keys"][0]["owner"] = "bob@example.com"
    assert client.post("/api/v1/apply", json=document).status_code == 409


def test_the_same_user_twice_is_refused(client: TestClient) -> None:
    document = _document()
    document["users"].append({"email": "ALICE@example.com"})
    response = client.post("/api/v1/apply", json=document)
    assert response.status_code == 422
    assert "more than once" in response.json()["detail"]


def test_the_command_line_prints_one_line_per_access_item(client: TestClient) -> None:
    printed = format_result(_apply(client, _document()))

    for line in (
        "user alice@example.com: created",
        "member demo/alice@example.com: created",
        "team demo/finance: created",
        "grant files/no-deletes: created",
        "webhook demo: created",
        "identity_provider okta: created",
    ):
        assert line in printed

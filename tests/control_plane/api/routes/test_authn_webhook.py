"""``/api/v1/workspaces/{slug}/authn-webhook``: one per workspace, https only, headers write-only,
encrypted at rest and sealed in the snapshot; also through ``apply``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import text

from control_plane.compiler import compile_group
from shared import sealing
from tests.control_plane.access_kit import (
    acting_as,
    add_member,
    make_user,
    settings_on_both_databases,  # noqa: F401  (SQLite and PostgreSQL)
)
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import latest_revision, make_workspace
from tests.control_plane.snapshot_rows import add_group

URL = "/api/v1/workspaces/demo/authn-webhook"
SECRET = "authn-hook-api-key-0123456789"


def test_a_workspace_has_no_authn_webhook_until_one_is_put(client: TestClient) -> None:
    make_workspace(client)
    assert client.get(URL).status_code == 404
    assert client.delete(URL).status_code == 404


def test_headers_are_write_only_encrypted_and_a_repeated_put_records_nothing(client: TestClient) -> None:
    make_workspace(client)
    before = latest_revision(client)

    put = client.put(URL, json={"url": "https://verify.example.com/v1", "headers": {"X-Api-Key": SECRET}})

    assert put.status_code == 200, put.text
    assert put.json()["header_names"] == ["X-Api-Key"]
    assert (put.json()["failure_mode"], put.json()["timeout_seconds"], put.json()["max_cache_seconds"]) == (
        "deny",
        2.0,
        60.0,
    )
    assert latest_revision(client) > before
    assert SECRET not in json.dumps(client.get(URL).json())
    with state_of(client).db.session() as session:
        row = session.execute(text("SELECT * FROM authn_webhook")).mappings().one()
    assert SECRET not in json.dumps({k: str(v) for k, v in row.items()})

    settled = latest_revision(client)
    assert client.put(URL, json={"url": "https://verify.example.com/v1"}).json()["header_names"] == [
        "X-Api-Key"
    ]
    assert latest_revision(client) == settled
    assert client.delete(URL).status_code == 204
    assert latest_revision(client) > settled and client.get(URL).status_code == 404


def test_the_url_must_be_https_except_toward_loopback(client: TestClient) -> None:
    make_workspace(client)
    for body in (
        {"url": "http://verify.example.com/v1"},  # the credential would cross the network in clear
        {"url": "http://10.0.0.5/verify"},
        {"url": "ftp://verify.example.com"},
        {"url": "not a url"},
        {"url": "https://verify.example.com", "failure_mode": "allow"},  # no fail-open for authentication
        {"url": "https://verify.example.com", "timeout_seconds": 0},
        {"url": "https://verify.example.com", "max_cache_seconds": 7200},
        {"url": "https://verify.example.com", "cache_seconds": 5},
    ):
        response = client.put(URL, json=body)
        assert response.status_code == 422, body
    refused = client.put(URL, json={"url": "http://verify.example.com/v1"})
    assert "must be https" in refused.text
    for url in ("http://127.0.0.1:8300/verify", "http://localhost/verify", "http://[::1]:9/verify"):
        assert client.put(URL, json={"url": url}).status_code == 200, url


def test_the_snapshot_carries_it_with_headers_sealed_to_the_group(client: TestClient) -> None:
    make_workspace(client)
    client.put(
        URL,
        json={
            "url": "https://verify.example.com/v1",
            "failure_mode": "unavailable",
            "max_cache_seconds": 30,
            "headers": {"X-Api-Key": SECRET},
        },
    )
    state = state_of(client)
    group, private_key = add_group(state.db, "edge")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with state.db.session() as session:
        first = compile_group(session, group=group, secrets=state.secrets, now=now)
        second = compile_group(session, group=group, secrets=state.secrets, now=now)

    entry = first.snapshot.authn_webhooks["demo"]
    assert (entry.url, entry.failure_mode, entry.max_cache_seconds) == (
        "https://verify.example.com/v1",
        "unavailable",
        30.0,
    )
    assert sealing.unseal(entry.headers["X-Api-Key"].sealed, private_key) == SECRET
    assert SECRET not in first.snapshot.model_dump_json()
    assert first.content_key == second.content_key


def test_apply_sets_it_and_applying_again_changes_nothing(client: TestClient) -> None:
    document = {
        "workspaces": [{"slug": "demo"}],
        "authn_webhooks": [
            {"workspace": "demo", "url": "https://verify.example.com/v1", "headers": {"X-Api-Key": SECRET}}
        ],
    }
    first = client.post("/api/v1/apply", json=document)
    assert first.status_code == 200, first.text
    assert first.json()["authn_webhooks"] == [{"workspace": "demo", "action": "created"}]
    before = latest_revision(client)

    again = client.post("/api/v1/apply", json=document)

    assert again.json()["authn_webhooks"] == [{"workspace": "demo", "action": "unchanged"}]
    assert latest_revision(client) == before
    assert client.get(URL).json()["header_names"] == ["X-Api-Key"]
    plain = client.post(
        "/api/v1/apply",
        json={"authn_webhooks": [{"workspace": "demo", "url": "http://verify.example.com/v1"}]},
    )
    assert plain.status_code == 422


def test_only_the_workspaces_admins_manage_its_authn_webhook(client: TestClient) -> None:
    make_workspace(client, "demo")
    make_workspace(client, "other")
    make_user(client, "admin@example.com")
    make_user(client, "member@example.com")
    add_member(client, "other", "admin@example.com", role="admin")
    add_member(client, "demo", "member@example.com")
    client.put(URL, json={"url": "https://verify.example.com/v1"})

    for who in ("admin@example.com", "member@example.com"):
        with acting_as(client, who):
            calls = [
                client.get(URL),
                client.put(URL, json={"url": "https://evil.example.com"}),
                client.delete(URL),
            ]
        assert [c.status_code for c in calls] == [403, 403, 403], who
    assert client.get(URL).json()["url"] == "https://verify.example.com/v1"


def test_deleting_the_workspace_deletes_its_authn_webhook(client: TestClient) -> None:
    make_workspace(client)
    client.put(URL, json={"url": "https://verify.example.com/v1"})

    assert client.delete("/api/v1/workspaces/demo").status_code == 204

    with state_of(client).db.session() as session:
        assert session.execute(text("SELECT count(*) FROM authn_webhook")).scalar() == 0

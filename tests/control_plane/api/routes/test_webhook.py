"""``/api/v1/workspaces/{slug}/authz-webhook``: one webhook per workspace, headers write-only and encrypted."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.control_plane.access_kit import (
    acting_as,
    add_member,
    make_user,
    settings_on_both_databases,  # noqa: F401  (SQLite and PostgreSQL)
)
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import latest_revision, make_workspace

URL = "/api/v1/workspaces/demo/authz-webhook"
SECRET = "webhook-api-key-0123456789"


def test_a_workspace_has_no_webhook_until_one_is_put(client: TestClient) -> None:
    make_workspace(client)
    assert client.get(URL).status_code == 404
    assert client.delete(URL).status_code == 404


def test_headers_are_write_only_and_stored_encrypted(client: TestClient) -> None:
    make_workspace(client)
    before = latest_revision(client)

    put = client.put(URL, json={"url": "https://authz.example.com/decide", "headers": {"X-Api-Key": SECRET}})

    assert put.status_code == 200, put.text
    assert put.json()["header_names"] == ["X-Api-Key"]
    assert put.json()["failure_mode"] == "deny" and put.json()["timeout_seconds"] == 2.0
    assert latest_revision(client) > before
    assert SECRET not in json.dumps(client.get(URL).json())
    with state_of(client).db.session() as session:
        row = session.execute(text("SELECT * FROM authz_webhook")).mappings().one()
    assert SECRET not in json.dumps({k: str(v) for k, v in row.items()})


def test_a_put_without_headers_keeps_them_and_an_unchanged_put_records_nothing(client: TestClient) -> None:
    make_workspace(client)
    client.put(URL, json={"url": "https://authz.example.com/decide", "headers": {"X-Api-Key": SECRET}})
    before = latest_revision(client)

    same = client.put(URL, json={"url": "https://authz.example.com/decide"})
    assert same.json()["header_names"] == ["X-Api-Key"]
    assert latest_revision(client) == before

    changed = client.put(
        URL, json={"url": "https://authz.example.com/v2", "failure_mode": "allow", "headers": {}}
    )
    assert changed.json()["header_names"] == [] and changed.json()["failure_mode"] == "allow"
    assert latest_revision(client) > before


def test_deleting_the_webhook_records_a_revision(client: TestClient) -> None:
    make_workspace(client)
    client.put(URL, json={"url": "https://authz.example.com/decide"})
    before = latest_revision(client)

    assert client.delete(URL).status_code == 204

    assert latest_revision(client) > before
    assert client.get(URL).status_code == 404


def test_a_webhook_needs_an_http_url_and_sane_timings(client: TestClient) -> None:
    make_workspace(client)
    for body in (
        {"url": "file:///etc/passwd"},
        {"url": "not a url"},
        {"url": "https://a.example.com", "timeout_seconds": 0},
        {"url": "https://a.example.com", "cache_seconds": -1},
        {"url": "https://a.example.com", "failure_mode": "maybe"},
        {"url": "https://a.example.com", "header": {"X": "y"}},
    ):
        assert client.put(URL, json=body).status_code == 422, body


def test_only_the_workspaces_admins_manage_its_webhook(client: TestClient) -> None:
    make_workspace(client, "demo")
    make_workspace(client, "other")
    make_user(client, "admin@example.com")
    make_user(client, "member@example.com")
    add_member(client, "other", "admin@example.com", role="admin")
    add_member(client, "demo", "member@example.com")
    client.put(URL, json={"url": "https://authz.example.com/decide"})

    for who in ("admin@example.com", "member@example.com"):
        with acting_as(client, who):
            calls = [
                client.get(URL),
                client.put(URL, json={"url": "https://evil.example.com"}),
                client.delete(URL),
            ]
        assert [c.status_code for c in calls] == [403, 403, 403], who
    assert client.get(URL).json()["url"] == "https://authz.example.com/decide"

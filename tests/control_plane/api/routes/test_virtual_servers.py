"""``/api/v1/virtual-servers``: create, read, update, delete, validation, and the compiled snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from control_plane.compiler import compile_snapshot
from control_plane.models import DataPlaneGroup
from shared.snapshot import VirtualMember
from tests.control_plane.conftest import state_of
from tests.control_plane.helpers import latest_revision, make_server, make_workspace

URL = "/api/v1/virtual-servers"


def _setup(client: TestClient) -> None:
    make_workspace(client)
    make_server(client, "github")
    make_server(client, "jira")


def _create(client: TestClient, **extra: object) -> dict[str, object]:
    body = {
        "slug": "dev",
        "workspace": "demo",
        "members": [
            {"server": "github", "tools": ["search", "create_issue"], "renames": {"search": "find_code"}},
            {"server": "jira", "prefix": "tickets", "descriptions": {"create": "Open a ticket."}},
        ],
        **extra,
    }
    response = client.post(URL, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_a_virtual_server_is_created_read_updated_and_deleted_recording_revisions(client: TestClient) -> None:
    _setup(client)
    before = latest_revision(client)

    created = _create(client, name="Dev tools")

    assert created["members"] == [
        {
            "server": "github",
            "prefix": "github",
            "tools": ["create_issue", "search"],
            "renames": {"search": "find_code"},
            "descriptions": {},
        },
        {
            "server": "jira",
            "prefix": "tickets",
            "tools": None,
            "renames": {},
            "descriptions": {"create": "Open a ticket."},
        },
    ]
    assert latest_revision(client) > before
    assert client.get(f"{URL}/dev").json()["name"] == "Dev tools"
    assert [v["slug"] for v in client.get(URL).json()] == ["dev"]

    after_create = latest_revision(client)
    patched = client.patch(f"{URL}/dev", json={"members": [{"server": "jira"}]})
    assert patched.status_code == 200, patched.text
    assert [m["server"] for m in patched.json()["members"]] == ["jira"]
    assert latest_revision(client) > after_create
    unchanged = latest_revision(client)
    assert client.patch(f"{URL}/dev", json={"members": [{"server": "jira"}]}).status_code == 200
    assert latest_revision(client) == unchanged, "an update that changes nothing records nothing"

    assert client.delete(f"{URL}/dev").status_code == 204
    assert client.get(f"{URL}/dev").status_code == 404
    assert latest_revision(client) > unchanged


def test_servers_and_virtual_servers_share_one_slug_namespace(client: TestClient) -> None:
    _setup(client)
    _create(client)

    taken = client.post(URL, json={"slug": "github", "workspace": "demo", "members": []})
    assert taken.status_code == 409 and "server" in taken.json()["detail"]
    again = client.post(
        "/api/v1/servers",
        json={"slug": "dev", "workspace": "demo", "url": "http://127.0.0.1:9/mcp", "discover": False},
    )
    assert again.status_code == 409 and "virtual server" in again.json()["detail"]


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([{"server": "nope"}], "does not exist"),
        ([{"server": "elsewhere"}], "another workspace"),
        ([{"server": "github"}, {"server": "github"}], "at most once"),
        ([{"server": "github", "prefix": "x"}, {"server": "jira", "prefix": "x"}], "prefixes must differ"),
        (
            [{"server": "github", "renames": {"a": "same"}}, {"server": "jira", "renames": {"b": "same"}}],
            "same name",
        ),
    ],
)
def test_members_that_do_not_fit_are_refused_with_the_reason(
    client: TestClient, members: list[dict[str, object]], why: str
) -> None:
    _setup(client)
    make_workspace(client, "other")
    make_server(client, "elsewhere", workspace="other")

    refused = client.post(URL, json={"slug": "dev", "workspace": "demo", "members": members})

    assert refused.status_code == 422
    assert why in refused.text


@pytest.mark.parametrize(
    "member",
    [
        {"server": "github", "prefix": "Bad_Prefix"},
        {"server": "github", "renames": {"search": "has__separator"}},
        {"server": "github", "renames": {"search": "x" * 65}},
        {"server": "github", "tools": ["search"], "renames": {"other": "fine"}},
        {"server": "github", "unknown_field": True},
    ],
)
def test_malformed_members_are_refused_before_anything_is_written(
    client: TestClient, member: dict[str, object]
) -> None:
    _setup(client)
    before = latest_revision(client)

    refused = client.post(URL, json={"slug": "dev", "workspace": "demo", "members": [member]})

    assert refused.status_code == 422, refused.text
    assert latest_revision(client) == before


def test_deleting_a_member_server_removes_it_from_the_virtual_server(client: TestClient) -> None:
    _setup(client)
    _create(client)

    assert client.delete("/api/v1/servers/github").status_code == 204

    assert [m["server"] for m in client.get(f"{URL}/dev").json()["members"]] == ["jira"]


def test_the_snapshot_carries_virtual_servers_with_their_members_and_prefixes(client: TestClient) -> None:
    _setup(client)
    _create(client, instructions="Use me.")

    state = state_of(client)
    with state.db.session() as session:
        group = session.exec(select(DataPlaneGroup)).first()
        assert group is not None
        snapshot = compile_snapshot(session, group=group, secrets=state.secrets, now=datetime.now(UTC))

    entry = snapshot.virtual_servers["dev"]
    assert entry.workspace == "demo" and entry.instructions == "Use me."
    assert entry.members == [
        VirtualMember(
            server="github",
            prefix="github",
            tools=["create_issue", "search"],
            renames={"search": "find_code"},
        ),
        VirtualMember(server="jira", prefix="tickets", descriptions={"create": "Open a ticket."}),
    ]


def test_apply_creates_then_leaves_unchanged_a_virtual_server_naming_servers_of_the_same_document(
    client: TestClient,
) -> None:
    document = {
        "workspaces": [{"slug": "demo"}],
        "servers": [{"slug": "github", "workspace": "demo", "url": "http://127.0.0.1:9/mcp"}],
        "virtual_servers": [{"slug": "dev", "workspace": "demo", "members": [{"server": "github"}]}],
    }
    first = client.post("/api/v1/apply", json=document)
    assert first.status_code == 200, first.text
    assert first.json()["virtual_servers"] == [{"slug": "dev", "action": "created"}]
    second = client.post("/api/v1/apply", json=document)
    assert second.json()["virtual_servers"] == [{"slug": "dev", "action": "unchanged"}]
    assert [m["server"] for m in client.get(f"{URL}/dev").json()["members"]] == ["github"]

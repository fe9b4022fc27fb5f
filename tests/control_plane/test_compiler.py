"""The snapshot compiler: rows of one database -> the snapshot of one data-plane group."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from control_plane.compiler import CompiledSnapshot, CompileError, compile_group, compile_snapshot
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.models import DataPlaneGroup
from control_plane.repos import revisions
from shared import apikeys, keyfiles, sealing
from shared.snapshot import content_hash, snapshot_document
from tests.control_plane.snapshot_rows import add_group, add_key, add_server, add_workspace, new_secret_box

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'cp.db'}")
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def box() -> SecretBox:
    return new_secret_box()


def compile_for(
    database: Database, group: DataPlaneGroup, box: SecretBox, now: datetime = NOW
) -> CompiledSnapshot:
    with database.session() as session:
        return compile_group(session, group=group, secrets=box, now=now)


@pytest.mark.parametrize(
    ("expires_at", "revoked_at", "included"),
    [
        (None, None, True),
        (NOW + timedelta(seconds=1), None, True),
        (NOW, None, False),
        (NOW - timedelta(days=1), None, False),
        (None, NOW - timedelta(days=1), False),
        (NOW + timedelta(days=1), NOW - timedelta(seconds=1), False),
    ],
    ids=["no-expiry", "expires-later", "expires-now", "expired", "revoked", "revoked-not-expired"],
)
def test_revoked_and_expired_keys_are_left_out(
    database: Database,
    box: SecretBox,
    expires_at: datetime | None,
    revoked_at: datetime | None,
    included: bool,
) -> None:
    add_workspace(database, "demo")
    group, _ = add_group(database, "default")
    _, secret = add_key(database, name="k", workspace="demo", expires_at=expires_at, revoked_at=revoked_at)

    snapshot = compile_for(database, group, box).snapshot

    assert (apikeys.hash_secret(secret) in snapshot.keys) is included
    if included and expires_at is not None:
        assert snapshot.keys[apikeys.hash_secret(secret)].expires_at == int(expires_at.timestamp())


@pytest.mark.parametrize(
    ("servers", "tools", "expected"),
    [
        (["alpha"], {}, {"alpha": None}),
        ([], {"alpha": ["echo", "add", "echo"]}, {"alpha": ["add", "echo"]}),
        (["alpha"], {"alpha": ["echo"]}, {"alpha": None}),
        (["beta"], {"alpha": ["echo"]}, {"alpha": ["echo"], "beta": None}),
        (["alpha", "gone"], {"vanished": ["x"]}, {"alpha": None}),
    ],
    ids=["whole-server", "tool-list", "whole-server-wins", "both-kinds", "missing-servers-skipped"],
)
def test_key_scope_maps_whole_server_grants_and_tool_lists(
    database: Database,
    box: SecretBox,
    servers: list[str],
    tools: dict[str, list[str]],
    expected: dict[str, list[str] | None],
) -> None:
    add_workspace(database, "demo")
    group, _ = add_group(database, "default")
    add_server(database, slug="alpha", workspace="demo", box=box, tools={"echo": {}, "add": {}})
    add_server(database, slug="beta", workspace="demo", box=box)
    _, secret = add_key(database, name="k", workspace="demo", servers=servers, tools=tools)

    entry = compile_for(database, group, box).snapshot.keys[apikeys.hash_secret(secret)]

    assert entry.servers == expected
    assert entry.workspace == "demo"
    assert entry.name == "k"


def test_a_key_whose_scope_names_only_missing_servers_is_left_out(database: Database, box: SecretBox) -> None:
    # An empty compiled scope would widen the key (no limit for a user's key), so it goes.
    add_workspace(database, "demo")
    group, _ = add_group(database, "default")
    _, secret = add_key(database, name="k", workspace="demo", servers=["gone"], tools={"vanished": ["x"]})

    assert apikeys.hash_secret(secret) not in compile_for(database, group, box).snapshot.keys


def test_sealed_header_opens_with_the_group_private_key_to_the_stored_value(
    database: Database, box: SecretBox
) -> None:
    add_workspace(database, "demo")
    group, private_key = add_group(database, "default")
    add_server(
        database, slug="alpha", workspace="demo", box=box, headers={"Authorization": "Bearer upstream-secret"}
    )

    snapshot = compile_for(database, group, box).snapshot
    sealed = snapshot.servers["alpha"].headers["Authorization"].sealed

    assert "upstream-secret" not in snapshot.model_dump_json()
    assert sealing.unseal(sealed, private_key) == "Bearer upstream-secret"
    with pytest.raises(sealing.UnsealError):
        sealing.unseal(sealed, keyfiles.generate("X25519"))


def test_servers_carry_their_tools_workspace_and_settings(database: Database, box: SecretBox) -> None:
    add_workspace(database, "demo")
    group, _ = add_group(database, "default")
    add_server(
        database,
        slug="alpha",
        workspace="demo",
        box=box,
        tools={"echo": {"readOnlyHint": True, "title": "Echo", "weird": 3}},
    )

    snapshot = compile_for(database, group, box).snapshot
    server = snapshot.servers["alpha"]

    assert snapshot.workspaces == ["demo"]
    assert snapshot.group == "default"
    assert snapshot.created_at == int(NOW.timestamp())
    assert server.workspace == "demo"
    assert server.url == "http://127.0.0.1:9/alpha/mcp"
    assert server.tools["echo"].annotations == {"readOnlyHint": True, "title": "Echo"}
    assert server.tools["echo"].definition_hash == "d" * 64


def test_unchanged_database_compiles_to_the_same_content_key(database: Database, box: SecretBox) -> None:
    add_workspace(database, "demo")
    group, _ = add_group(database, "default")
    add_server(database, slug="alpha", workspace="demo", box=box, headers={"X-Api-Key": "k1"})
    add_key(database, name="k", workspace="demo", servers=["alpha"])

    first = compile_for(database, group, box)
    second = compile_for(database, group, box, now=NOW + timedelta(minutes=1))

    assert first.content_key == second.content_key
    # Sealing is randomized, so the signed hash differs; it still matches each document.
    assert first.snapshot.hash != second.snapshot.hash
    for compiled in (first, second):
        assert compiled.snapshot.hash == content_hash(snapshot_document(compiled.snapshot))


def test_a_changed_header_value_changes_the_content_key(database: Database, box: SecretBox) -> None:
    add_workspace(database, "demo")
    group, _ = add_group(database, "default")
    server = add_server(database, slug="alpha", workspace="demo", box=box, headers={"X-Api-Key": "k1"})
    before = compile_for(database, group, box)

    with database.transaction() as session:
        row = session.merge(server)
        row.headers_encrypted = box.encrypt('{"X-Api-Key": "k2"}')
        revisions.record(session, reason="rotate")
    after = compile_for(database, group, box)

    assert before.content_key != after.content_key


def test_version_is_the_latest_revision(database: Database, box: SecretBox) -> None:
    add_workspace(database, "demo")
    group, _ = add_group(database, "default")
    with database.transaction() as session:
        revisions.record(session, reason="one more")
    with database.session() as session:
        latest = revisions.latest(session)
        snapshot = compile_snapshot(session, group=group, secrets=box, now=NOW)

    assert latest == 3
    assert snapshot.version == "3"


def test_group_without_a_usable_public_key_cannot_seal_headers(database: Database, box: SecretBox) -> None:
    add_workspace(database, "demo")
    add_server(database, slug="alpha", workspace="demo", box=box, headers={"X-Api-Key": "k1"})
    broken = DataPlaneGroup(name="broken", public_key={})

    with pytest.raises(CompileError), database.session() as session:
        compile_snapshot(session, group=broken, secrets=box, now=NOW)


def test_headers_encrypted_with_another_master_key_cannot_be_compiled(
    database: Database, box: SecretBox
) -> None:
    add_workspace(database, "demo")
    group, _ = add_group(database, "default")
    add_server(database, slug="alpha", workspace="demo", box=box, headers={"X-Api-Key": "k1"})

    with pytest.raises(CompileError), database.session() as session:
        compile_snapshot(session, group=group, secrets=new_secret_box(), now=NOW)

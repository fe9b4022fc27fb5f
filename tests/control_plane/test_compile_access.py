"""The access section of a compiled snapshot: users, user index, teams, grants, webhooks, key owners."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlmodel import Session, col

from control_plane.compiler import CompileError, compile_group
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.models import (
    AgentKeyCreate,
    DataPlaneGroup,
    IdentityProviderCreate,
    Team,
    TeamMember,
    WorkspaceCreate,
)
from control_plane.models.grant import AuthzWebhookSet, GrantCreate, GrantSubjectRef
from control_plane.models.team import TeamCreate
from control_plane.models.user import UserCreate, UserUpdate
from control_plane.repos import grants, identity_providers, keys, members, teams, users, webhooks, workspaces
from control_plane.settings import normalize_database_url
from shared import sealing
from shared.snapshot import Snapshot
from tests.control_plane.snapshot_rows import add_group, add_server, new_secret_box

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = (
        request.getfixturevalue("postgres_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path / 'cp.db'}"
    )
    db = Database(normalize_database_url(url))
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def box() -> SecretBox:
    return new_secret_box()


def _compile(database: Database, group: DataPlaneGroup, box: SecretBox) -> Snapshot:
    with database.session() as session:
        return compile_group(session, group=group, secrets=box, now=NOW).snapshot


def _grant(session: Session, name: str, kind: str, ref: str, server: str = "files", **rules: object) -> str:
    data = GrantCreate.model_validate(
        {"name": name, "server": server, "subject": {"kind": kind, "id": ref}, **rules}
    )
    return grants.create(session, data=data).id


@pytest.fixture
def org(database: Database, box: SecretBox) -> dict[str, str]:
    """Workspaces demo and other, server files (demo), provider okta, users alice (member of
    demo, team finance, identity at okta) and bob (disabled), keys bot (workspace) and
    alice-bot (alice's); returns ids by name."""
    with database.transaction() as session:
        demo = workspaces.create(session, data=WorkspaceCreate(slug="demo"))
        workspaces.create(session, data=WorkspaceCreate(slug="other"))
    add_server(database, slug="files", workspace="demo", box=box, tools={"read_file": {"readOnlyHint": True}})
    with database.transaction() as session:
        provider = identity_providers.create(
            session,
            data=IdentityProviderCreate(
                slug="okta", issuer="https://okta.example.com", jwks_uri="https://okta/k"
            ),
            secrets=box,
        )
        alice = users.create(session, data=UserCreate(email="Alice@Example.com"))
        bob = users.create(session, data=UserCreate(email="bob@example.com"))
        users.update(session, ref=bob.id, data=UserUpdate(disabled=True))
        users.add_identity(session, ref=alice.id, provider="okta", subject="00u1")
        members.add(session, workspace=demo, user_ref=alice.id, role="member")
        finance = teams.create(
            session, data=TeamCreate(workspace="demo", slug="finance", claim_values=["fin"])
        )
        teams.add_member(session, team=finance, user_ref=alice.id)
        bot, _ = keys.create(session, data=AgentKeyCreate(name="bot", workspace="demo", servers=["files"]))
        alice_bot, _ = keys.create(
            session, data=AgentKeyCreate(name="alice-bot", workspace="demo", owner="alice@example.com")
        )
        return {
            "demo": demo.id,
            "okta": provider.id,
            "alice": alice.id,
            "bob": bob.id,
            "finance": finance.id,
            "bot": bot.id,
            "alice-bot": alice_bot.id,
            "alice-bot-hash": alice_bot.key_hash,
            "bot-hash": bot.key_hash,
        }


def test_users_are_indexed_by_provider_subject_and_lower_cased_email(
    database: Database, box: SecretBox, org: dict[str, str]
) -> None:
    group, _ = add_group(database, "default")

    access = _compile(database, group, box).access

    assert access.user_index == {
        "email:alice@example.com": org["alice"],
        "email:bob@example.com": org["bob"],
        "sub:okta:00u1": org["alice"],
    }
    alice = access.users[org["alice"]]
    assert (alice.email, alice.workspaces, alice.teams, alice.disabled) == (
        "alice@example.com",
        ["demo"],
        [org["finance"]],
        False,
    )
    assert access.users[org["bob"]].disabled is True, "a disabled user stays, marked disabled"
    assert access.teams[org["finance"]].model_dump() == {
        "id": org["finance"],
        "slug": "finance",
        "workspace": "demo",
        "claim_values": ["fin"],
    }


def test_a_user_owned_key_names_its_user_and_a_workspace_key_none(
    database: Database, box: SecretBox, org: dict[str, str]
) -> None:
    group, _ = add_group(database, "default")

    snapshot = _compile(database, group, box)

    assert snapshot.keys[org["alice-bot-hash"]].user == org["alice"]
    assert snapshot.keys[org["bot-hash"]].user == ""


def test_grant_subjects_are_written_as_the_evaluation_probes_them(
    database: Database, box: SecretBox, org: dict[str, str]
) -> None:
    group, _ = add_group(database, "default")
    with database.transaction() as session:
        _grant(session, "a-agent", "agent", "bot")
        _grant(session, "b-user", "user", "alice@example.com")
        _grant(session, "c-team", "team", "finance", tools={"include": ["read_*"]})
        _grant(session, "d-workspace", "workspace", "other", effect="deny")
        _grant(
            session,
            "e-provider",
            "provider",
            "okta",
            conditions=[{"claim": "groups", "op": "contains", "value": "fin"}],
        )

    compiled = _compile(database, group, box).access.grants

    assert [(g.name, g.subject, g.server) for g in compiled] == [
        ("a-agent", f"agent:{org['bot']}", "files"),
        ("b-user", f"user:{org['alice']}", "files"),
        ("c-team", f"team:{org['finance']}", "files"),
        ("d-workspace", "workspace:other", "files"),
        ("e-provider", "provider:okta", "files"),
    ]
    assert compiled[2].tools.include == ["read_*"]
    assert compiled[3].effect == "deny"
    assert compiled[4].conditions[0].op == "contains"


def test_a_grant_whose_subject_is_gone_is_left_out(
    database: Database, box: SecretBox, org: dict[str, str]
) -> None:
    group, _ = add_group(database, "default")
    with database.transaction() as session:
        _grant(session, "kept", "workspace", "demo")
        _grant(session, "dangling", "team", "finance")
        # Bypass the repos (which delete grants with their team) to prove the compiler copes.
        session.exec(delete(TeamMember).where(col(TeamMember.team_id) == org["finance"]))
        session.exec(delete(Team).where(col(Team.id) == org["finance"]))

    assert [g.name for g in _compile(database, group, box).access.grants] == ["kept"]


def test_webhook_headers_are_sealed_to_the_group_and_the_content_key_stays_stable(
    database: Database, box: SecretBox, org: dict[str, str]
) -> None:
    group, private_key = add_group(database, "default")
    with database.transaction() as session:
        demo = workspaces.get(session, slug="demo")
        hook = AuthzWebhookSet(url="https://authz.example.com", headers={"X-Api-Key": "hook-secret-123"})
        webhooks.put(session, workspace=demo, data=hook, secrets=box)

    with database.session() as session:
        first = compile_group(session, group=group, secrets=box, now=NOW)
        second = compile_group(session, group=group, secrets=box, now=NOW)

    entry = first.snapshot.access.webhooks["demo"]
    assert entry.url == "https://authz.example.com" and entry.failure_mode == "deny"
    assert sealing.unseal(entry.headers["X-Api-Key"].sealed, private_key) == "hook-secret-123"
    assert "hook-secret-123" not in first.snapshot.model_dump_json()
    assert first.content_key == second.content_key


def test_webhook_headers_under_another_master_key_cannot_be_compiled(
    database: Database, box: SecretBox, org: dict[str, str]
) -> None:
    group, _ = add_group(database, "default")
    with database.transaction() as session:
        demo = workspaces.get(session, slug="demo")
        webhooks.put(
            session,
            workspace=demo,
            data=AuthzWebhookSet(url="https://authz.example.com", headers={"X": "y"}),
            secrets=new_secret_box(),
        )

    with pytest.raises(CompileError, match="webhook"):
        _compile(database, group, box)


def test_every_grant_of_a_large_configuration_is_compiled(database: Database, box: SecretBox) -> None:
    with database.transaction() as session:
        workspaces.create(session, data=WorkspaceCreate(slug="demo"))
    add_server(database, slug="files", workspace="demo", box=box)
    with database.transaction() as session:
        created = [
            keys.create(session, data=AgentKeyCreate(name=f"k{i}", workspace="demo"), record_revision=False)[
                0
            ]
            for i in range(300)
        ]
        for key in created:
            grant = GrantCreate(
                name=f"g-{key.name}", server="files", subject=GrantSubjectRef(kind="agent", id=key.id)
            )
            grants.create(session, data=grant, record_revision=False)
    group, _ = add_group(database, "default")

    snapshot = _compile(database, group, box)

    assert len(snapshot.access.grants) == 300
    assert {g.subject for g in snapshot.access.grants} == {f"agent:{k.id}" for k in created}

"""Master-key rotation re-encrypts every stored secret and leaves nothing under the old key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text
from sqlmodel import select

from control_plane.crypto import SecretBox, decode_key
from control_plane.db import Database
from control_plane.models import OAuthAuthorization, ServerCreate, User, UserConnection, WorkspaceCreate
from control_plane.models.common import utcnow
from control_plane.repos import servers, workspaces
from control_plane.repos.servers import open_headers
from control_plane.rotation import reencrypt_all
from tests.e2e.processes import REPO


def _seed(db: Database, box: SecretBox) -> None:
    with db.transaction() as session:
        workspaces.create(session, data=WorkspaceCreate(slug="w"))
    with db.transaction() as session:
        for slug in ("a", "b"):
            data = ServerCreate(
                slug=slug, workspace="w", url="http://x/mcp", headers={"X-Key": f"secret-{slug}"}
            )
            servers.create(session, data=data, secrets=box)


def _raw_header_columns(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT headers_encrypted FROM server"))]


def test_reencrypt_moves_every_secret_to_the_current_key(tmp_path: Path) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    db = Database(f"sqlite:///{tmp_path / 'cp.db'}")
    db.migrate()
    _seed(db, SecretBox(old_key))

    rotated = SecretBox(new_key, [old_key])
    assert reencrypt_all(db, rotated) == 2
    assert reencrypt_all(db, rotated) == 0  # idempotent

    only_new = SecretBox(new_key)
    with db.session() as session:
        assert open_headers(only_new, servers.get(session, slug="a")) == {"X-Key": "secret-a"}
    assert all(only_new.is_current(value) for value in _raw_header_columns(db))
    assert not any("secret-" in value for value in _raw_header_columns(db))
    db.dispose()


def test_rotate_master_key_command_generates_a_new_key_and_drops_the_old_one(tmp_path: Path) -> None:
    state = tmp_path / "state"
    url = f"sqlite:///{tmp_path / 'cp.db'}"
    db = Database(url)
    db.migrate()
    box = SecretBox.from_config("", state / "master.key")
    _seed(db, box)
    old_key = (state / "master.key").read_text()

    env = {"MCPGW_STATE_DIR": str(state), "MCPGW_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "mcpgw.cli", "rotate-master-key", "--generate"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "re-encrypted 2 stored secret(s)" in done.stdout
    new_key = (state / "master.key").read_text()
    assert new_key != old_key
    assert not (state / "master.key.previous").exists()
    after = SecretBox(decode_key(new_key))
    with db.session() as session:
        assert open_headers(after, servers.get(session, slug="b")) == {"X-Key": "secret-b"}
    db.dispose()


def test_reencrypt_moves_users_upstream_tokens_to_the_current_key(tmp_path: Path) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    db = Database(f"sqlite:///{tmp_path / 'cp.db'}")
    db.migrate()
    old = SecretBox(old_key)
    _seed(db, old)
    with db.transaction() as session:
        user = User(email="alice@example.test")
        session.add(user)
        session.flush()
        server = servers.get(session, slug="a")
        session.add(
            UserConnection(
                user_id=user.id,
                server_id=server.id,
                refresh_token_encrypted=old.encrypt("refresh-secret"),
                access_token_encrypted=old.encrypt("access-secret"),
            )
        )
        session.add(
            OAuthAuthorization(
                state_hash="0" * 64,
                user_id=user.id,
                server_id=server.id,
                verifier_encrypted=old.encrypt("verifier-secret"),
                redirect_uri="http://127.0.0.1/oauth/callback",
                expires_at=utcnow(),
            )
        )

    assert reencrypt_all(db, SecretBox(new_key, [old_key])) == 5
    only_new = SecretBox(new_key)
    with db.session() as session:
        row = session.exec(select(UserConnection)).one()
        pending = session.exec(select(OAuthAuthorization)).one()
        assert only_new.decrypt(row.refresh_token_encrypted) == "refresh-secret"
        assert only_new.decrypt(row.access_token_encrypted) == "access-secret"
        assert only_new.decrypt(pending.verifier_encrypted) == "verifier-secret"
    db.dispose()

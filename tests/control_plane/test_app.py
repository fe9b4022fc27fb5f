"""The app's lifespan: keys on disk, the default data-plane group, stable across restarts."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from control_plane.app import create_app
from control_plane.settings import ControlPlaneSettings
from shared import keyfiles
from tests.control_plane.conftest import state_of


def _start(settings: ControlPlaneSettings) -> list[dict[str, object]]:
    auth = {"Authorization": f"Bearer {settings.admin_token}"}
    with TestClient(create_app(settings, start_distribution=False), headers=auth) as client:
        groups: list[dict[str, object]] = client.get("/api/v1/dataplane-groups").json()
        return groups


def test_start_writes_the_public_signing_key_and_the_default_group_key(
    settings: ControlPlaneSettings,
) -> None:
    groups = _start(settings)

    signing = keyfiles.read_key(settings.resolved_signing_key_file)
    public = json.loads((settings.state_dir / "signing-key.pub.jwk").read_text())
    assert public == keyfiles.public_jwk(signing) and "d" not in public
    group_key = keyfiles.read_key(settings.state_dir / "groups" / "default.jwk")
    assert [g["public_key"] for g in groups] == [keyfiles.public_jwk(group_key)]
    assert (settings.state_dir / "groups" / "default.jwk").stat().st_mode & 0o077 == 0
    assert (settings.state_dir / "master.key").exists()


def test_a_restart_keeps_the_same_keys_and_one_default_group(settings: ControlPlaneSettings) -> None:
    first = _start(settings)
    signing = (settings.state_dir / "signing-key.pub.jwk").read_text()

    second = _start(settings)

    assert first == second and len(second) == 1
    assert (settings.state_dir / "signing-key.pub.jwk").read_text() == signing


def test_the_app_starts_and_stops_config_distribution(tmp_path: Path) -> None:
    settings = ControlPlaneSettings(
        state_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/cp.db", admin_token="t" * 32, grpc_port=0
    )
    with TestClient(create_app(settings)) as client:
        distribution = state_of(client).distribution
        assert distribution is not None and distribution.port > 0
        assert client.get("/healthz").status_code == 200

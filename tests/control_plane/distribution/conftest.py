"""A started Distribution on 127.0.0.1:0 over SQLite in tmp_path, or over a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from joserfc.jwk import OKPKey

from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.distribution import Distribution
from control_plane.settings import ControlPlaneSettings, normalize_database_url
from shared import keyfiles
from tests.control_plane.snapshot_rows import add_group, add_workspace, new_secret_box


@dataclass
class Running:
    """A started distribution and what the tests need to talk to it and check its work."""

    database: Database
    distribution: Distribution
    box: SecretBox
    verify_key: OKPKey
    group_key: OKPKey

    @property
    def port(self) -> int:
        return self.distribution.port


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cp.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return normalize_database_url(url)


@pytest.fixture
async def running(tmp_path: Path, database_url: str) -> AsyncIterator[Running]:
    settings = ControlPlaneSettings(
        state_dir=tmp_path / "state",
        database_url=database_url,
        grpc_host="127.0.0.1",
        grpc_port=0,
        push_debounce_seconds=0.05,
        revision_poll_seconds=1.0,
    )
    database = Database(settings.database_url)
    database.migrate()
    add_workspace(database, "demo")
    _, group_key = add_group(database, "default")
    signing_key = keyfiles.generate("Ed25519")
    box = new_secret_box()
    distribution = Distribution(settings=settings, database=database, signing_key=signing_key, secrets=box)
    await distribution.start()
    try:
        yield Running(
            database=database,
            distribution=distribution,
            box=box,
            verify_key=keyfiles.from_jwk(keyfiles.public_jwk(signing_key)),
            group_key=group_key,
        )
    finally:
        await distribution.stop()
        database.dispose()

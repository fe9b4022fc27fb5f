"""Fixtures for end-to-end tests: a whole deployment on SQLite or on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from control_plane.settings import normalize_database_url
from tests.e2e.gateway import Gateway


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The control plane's database: SQLite in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cp.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return normalize_database_url(url)


@pytest.fixture
def gateway(tmp_path: Path, database_url: str) -> Iterator[Gateway]:
    """Upstream + control plane + data plane, stopped afterwards (logs shown on failure)."""
    gw = Gateway(tmp=tmp_path, database_url=database_url)
    try:
        gw.start_upstream()
        gw.start_control_plane()
        gw.start_data_plane()
        yield gw
    except BaseException:
        print(gw.logs())
        raise
    finally:
        gw.stop()

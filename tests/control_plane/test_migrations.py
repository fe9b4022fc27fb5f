"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import SQLModel

import control_plane.models  # noqa: F401  (registers every table)
from control_plane.app import create_app
from control_plane.db import Database
from control_plane.settings import ControlPlaneSettings, normalize_database_url
from tests.control_plane.conftest import ADMIN_TOKEN

TABLES = {
    "workspace",
    "server",
    "tool",
    "agentkey",
    "dataplanegroup",
    "dataplane",
    "configrevision",
    "audit_event",
    "identityprovider",
}


def test_the_migrations_and_the_models_agree(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'schema.db'}")
    try:
        db.migrate()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        db.dispose()


def test_migrations_run_on_postgresql_and_are_idempotent(postgres_url: str) -> None:
    db = Database(normalize_database_url(postgres_url))
    try:
        db.migrate()
        db.migrate()
        assert set(inspect(db.engine).get_table_names()) >= TABLES
    finally:
        db.dispose()


def test_the_admin_api_serves_from_postgresql(postgres_url: str, tmp_path: Path) -> None:
    settings = ControlPlaneSettings(
        state_dir=tmp_path, database_url=postgres_url, admin_token=ADMIN_TOKEN, discovery_timeout_seconds=2
    )
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with TestClient(create_app(settings, start_distribution=False), headers=auth) as client:
        document = {
            "workspaces": [{"slug": "demo"}],
            "servers": [{"slug": "py", "workspace": "demo", "url": "http://127.0.0.1:9/mcp"}],
            "keys": [
                {
                    "name": "probe",
                    "workspace": "demo",
                    "servers": ["py"],
                    "expires_at": "2030-01-01T00:00:00Z",
                }
            ],
        }
        assert client.post("/api/v1/apply", json=document).status_code == 200
        again = client.post("/api/v1/apply", json=document).json()
        assert {k["action"] for k in again["keys"]} == {"unchanged"}
        assert client.post("/api/v1/workspaces", json={"slug": "demo"}).status_code == 409
        assert [k["name"] for k in client.get("/api/v1/keys", params={"workspace": "demo"}).json()] == [
            "probe"
        ]

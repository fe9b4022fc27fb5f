"""Writing registry rows straight through the models, for compiler and distribution tests.

These tests are about what the compiler and distribution make of rows, so they write the rows
directly rather than through the admin API.
"""

from __future__ import annotations

import json
import secrets as random
from datetime import datetime
from typing import Any

from joserfc.jwk import OKPKey
from sqlmodel import Session, select

from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.models import AgentKey, DataPlaneGroup, Server, Tool, Workspace
from control_plane.repos import revisions
from shared import apikeys, keyfiles


def new_secret_box() -> SecretBox:
    """A secret box with a fresh random master key."""
    return SecretBox(random.token_bytes(32))


def add_workspace(database: Database, slug: str) -> Workspace:
    with database.transaction() as session:
        workspace = Workspace(slug=slug, name=slug.title())
        session.add(workspace)
        revisions.record(session, reason=f"workspace {slug}")
    return workspace


def add_group(database: Database, name: str) -> tuple[DataPlaneGroup, OKPKey]:
    """A data-plane group and its private X25519 key."""
    key = keyfiles.generate("X25519")
    with database.transaction() as session:
        group = DataPlaneGroup(name=name, public_key=keyfiles.public_jwk(key))
        session.add(group)
        revisions.record(session, reason=f"group {name}")
    return group, key


def add_server(
    database: Database,
    *,
    slug: str,
    workspace: str,
    box: SecretBox,
    headers: dict[str, str] | None = None,
    tools: dict[str, dict[str, Any]] | None = None,
) -> Server:
    """A server with encrypted static headers and tools (name -> annotations)."""
    with database.transaction() as session:
        owner = _workspace(session, workspace)
        server = Server(
            slug=slug,
            url=f"http://127.0.0.1:9/{slug}/mcp",
            workspace_id=owner.id,
            headers_encrypted=box.encrypt(json.dumps(headers, sort_keys=True)) if headers else "",
            header_names=sorted(headers or {}),
        )
        session.add(server)
        session.flush()
        for name, annotations in (tools or {}).items():
            session.add(
                Tool(
                    server_id=server.id,
                    name=name,
                    description=f"the {name} tool",
                    annotations=annotations,
                    definition_hash="d" * 64,
                )
            )
        revisions.record(session, reason=f"server {slug}")
    return server


def add_key(
    database: Database,
    *,
    name: str,
    workspace: str,
    servers: list[str] | None = None,
    tools: dict[str, list[str]] | None = None,
    expires_at: datetime | None = None,
    revoked_at: datetime | None = None,
) -> tuple[AgentKey, str]:
    """An agent key and its secret."""
    secret = apikeys.new_secret()
    with database.transaction() as session:
        key = AgentKey(
            name=name,
            workspace_id=_workspace(session, workspace).id,
            key_hash=apikeys.hash_secret(secret),
            prefix=apikeys.display_prefix(secret),
            scope_servers=servers or [],
            scope_tools=tools or {},
            expires_at=expires_at,
            revoked_at=revoked_at,
        )
        session.add(key)
        revisions.record(session, reason=f"key {name}")
    return key, secret


def _workspace(session: Session, slug: str) -> Workspace:
    return session.exec(select(Workspace).where(Workspace.slug == slug)).one()

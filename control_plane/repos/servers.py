"""Upstream servers and their tool catalogs.

Header values, a stdio server's env values and the upstream credential's secret (bearer token,
API-key value, OAuth client secret) are stored only encrypted (``SecretBox``); only header and
env names and the credential's type and non-secret fields are ever presented.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import TypeAdapter
from sqlmodel import Session, select

from control_plane.crypto import SecretBox
from control_plane.discovery import DiscoveredTool, StdioTarget
from control_plane.models import AgentKey, Server, ServerCreate, ServerPublic, ServerUpdate, Tool
from control_plane.models.common import utcnow
from control_plane.models.server import transport_problem
from control_plane.models.upstream_auth import (
    ApiKeyAuthIn,
    BearerAuthIn,
    UpstreamAuthIn,
    UpstreamAuthPublic,
)
from control_plane.repos import access_refs, revisions, virtual_servers, workspaces
from control_plane.repos.errors import Conflict, Invalid, NotFound
from shared.snapshot.credentials import IdentityForwarding


@dataclass(frozen=True, slots=True)
class Connection:
    """What discovery needs to reach a server (header values decrypted; never log them)."""

    slug: str
    url: str
    headers: dict[str, str]
    stdio: StdioTarget | None = None
    """For a stdio server: what discovery launches (env values decrypted)."""
    legacy_sse: bool = False
    """``url`` is a legacy HTTP+SSE server's event stream (discovered over that transport)."""


_AUTH = TypeAdapter[UpstreamAuthIn](UpstreamAuthIn)
SECRET_FIELDS = {
    "bearer": "token",
    "api_key": "value",
    "oauth2_client_credentials": "client_secret",
    "oauth2_user": "client_secret",
    "token_exchange": "client_secret",
}
"""Auth type -> the one field of it that is a secret."""


def split_auth(secrets: SecretBox, auth: UpstreamAuthIn) -> tuple[dict[str, Any], str]:
    """The stored form of a credential: its public fields, and its secret encrypted ("" for none)."""
    document = auth.model_dump(mode="json", by_alias=True)
    secret_field = SECRET_FIELDS.get(auth.type)
    if secret_field is None:
        return document, ""
    secret = str(document.pop(secret_field))
    return document, secrets.encrypt(secret)


def open_auth(secrets: SecretBox, server: Server) -> UpstreamAuthIn:
    """The full credential of ``server``, secret decrypted (never log it)."""
    document = dict(server.auth or {"type": "none"})
    secret_field = SECRET_FIELDS.get(str(document.get("type")))
    if secret_field is not None:
        document[secret_field] = secrets.decrypt(server.auth_secret_encrypted)
    return _AUTH.validate_python(document)


def with_credentials(url: str, headers: dict[str, str], auth: UpstreamAuthIn) -> tuple[str, dict[str, str]]:
    """URL and headers with a static credential applied (what discovery uses).

    OAuth client credentials are not applied here: the data plane fetches those tokens.
    """
    if isinstance(auth, BearerAuthIn):
        return url, {**headers, "Authorization": f"Bearer {auth.token}"}
    if isinstance(auth, ApiKeyAuthIn) and auth.in_ == "header":
        return url, {**headers, auth.name: auth.value}
    if isinstance(auth, ApiKeyAuthIn):
        return with_query(url, auth.name, auth.value), headers
    return url, headers


def with_query(url: str, name: str, value: str) -> str:
    """``url`` with ``name=value`` added to its query (replacing a parameter of that name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, value)])))


def seal_headers(secrets: SecretBox, headers: dict[str, str]) -> str:
    """The stored (encrypted) form of a header mapping."""
    return secrets.encrypt(json.dumps(headers, sort_keys=True))


def open_headers(secrets: SecretBox, server: Server) -> dict[str, str]:
    """The decrypted header mapping of ``server``."""
    if not server.headers_encrypted:
        return {}
    headers: dict[str, str] = json.loads(secrets.decrypt(server.headers_encrypted))
    return headers


def open_env(secrets: SecretBox, server: Server) -> dict[str, str]:
    """The decrypted stdio environment of ``server`` (never log it)."""
    if not server.env_encrypted:
        return {}
    env: dict[str, str] = json.loads(secrets.decrypt(server.env_encrypted))
    return env


def target_of(data: ServerCreate) -> Connection:
    """What discovery reaches for a server about to be registered."""
    if data.transport == "stdio":
        stdio = StdioTarget(command=data.command, args=tuple(data.args), env=dict(data.env), cwd=data.cwd)
        return Connection(slug=data.slug, url="", headers={}, stdio=stdio)
    url, headers = with_credentials(data.url, data.headers, data.auth)
    return Connection(slug=data.slug, url=url, headers=headers, legacy_sse=data.transport == "sse")


def create(
    session: Session,
    *,
    data: ServerCreate,
    secrets: SecretBox,
    catalog: Sequence[DiscoveredTool] | None = None,
    discovery_error: str = "",
    record_revision: bool = True,
) -> Server:
    """Register a server (with its catalog when one was discovered); a taken slug is a :class:`Conflict`."""
    workspace = workspaces.get(session, slug=data.workspace)
    if find(session, slug=data.slug) is not None:
        raise Conflict(f"server {data.slug!r} already exists")
    if virtual_servers.find(session, slug=data.slug) is not None:
        raise Conflict(f"a virtual server named {data.slug!r} already exists")
    server = Server(
        slug=data.slug,
        url=data.url,
        transport=data.transport,
        timeout_seconds=data.timeout_seconds,
        workspace_id=workspace.id,
        headers_encrypted=seal_headers(secrets, data.headers),
        header_names=sorted(data.headers),
        discovery_error=discovery_error[:2000],
        identity=data.identity.model_dump(mode="json"),
        command=data.command,
        args=list(data.args),
        cwd=data.cwd,
        env_names=sorted(data.env),
        env_encrypted=seal_headers(secrets, data.env) if data.env else "",
        min_processes=data.min_processes,
        max_processes=data.max_processes,
        idle_timeout_seconds=data.idle_timeout_seconds,
    )
    server.auth, server.auth_secret_encrypted = split_auth(secrets, data.auth)
    session.add(server)
    session.flush()
    if catalog is not None:
        replace_catalog(session, server=server, catalog=catalog, record_revision=False)
    if record_revision:
        revisions.record(session, reason=f"server {data.slug} registered")
    return server


def find(session: Session, *, slug: str) -> Server | None:
    """The server with ``slug``, or ``None``."""
    return session.exec(select(Server).where(Server.slug == slug)).first()


def get(session: Session, *, slug: str) -> Server:
    """The server with ``slug``; :class:`NotFound` when there is none."""
    server = find(session, slug=slug)
    if server is None:
        raise NotFound(f"server {slug!r} does not exist")
    return server


def list_all(session: Session, *, workspace: str | None = None) -> list[Server]:
    """Every server (of one workspace when ``workspace`` is given), by slug."""
    query = select(Server).order_by(Server.slug)
    if workspace is not None:
        query = query.where(Server.workspace_id == workspaces.get(session, slug=workspace).id)
    return list(session.exec(query))


def update(
    session: Session, *, slug: str, data: ServerUpdate, secrets: SecretBox, record_revision: bool = True
) -> tuple[Server, bool]:
    """Apply the fields set in ``data``; returns the server and whether anything changed."""
    server = get(session, slug=slug)
    changed = False
    fields = data.model_dump(exclude_unset=True, exclude={"headers", "auth", "identity", "env"})
    for name, value in fields.items():
        if value is not None and getattr(server, name) != value:
            setattr(server, name, value)
            changed = True
    if data.headers is not None and open_headers(secrets, server) != data.headers:
        server.headers_encrypted = seal_headers(secrets, data.headers)
        server.header_names = sorted(data.headers)
        changed = True
    if data.auth is not None and open_auth(secrets, server) != data.auth:
        server.auth, server.auth_secret_encrypted = split_auth(secrets, data.auth)
        changed = True
    if data.identity is not None and server.identity != data.identity.model_dump(mode="json"):
        server.identity = data.identity.model_dump(mode="json")
        changed = True
    if data.env is not None and open_env(secrets, server) != data.env:
        server.env_encrypted = seal_headers(secrets, data.env) if data.env else ""
        server.env_names = sorted(data.env)
        changed = True
    if changed:
        _check_transport(server, secrets)
        server.updated_at = utcnow()
        session.add(server)
        if record_revision:
            revisions.record(session, reason=f"server {slug} updated")
        session.flush()
    return server, changed


def _check_transport(server: Server, secrets: SecretBox) -> None:
    """:class:`Invalid` when an update left the server's fields unfit for its transport."""
    problem = transport_problem(
        transport=server.transport,
        url=server.url,
        command=server.command,
        args=server.args,
        env=open_env(secrets, server),
        cwd=server.cwd,
        min_processes=server.min_processes,
        max_processes=server.max_processes,
        headers=bool(server.header_names),
        auth=str((server.auth or {}).get("type", "none")),
        identity=IdentityForwarding.model_validate(server.identity or {}),
    )
    if problem is not None:
        raise Invalid(problem)


def delete(session: Session, *, slug: str) -> None:
    """Delete a server, its tools, the grants about it, every key scope entry that names it, and
    its membership in virtual servers.

    A key whose scope named only this server is revoked: an empty scope would mean "no limit"
    (a user-owned key) or "the workspace's grants" (a workspace key), more than it had.
    """
    server = get(session, slug=slug)
    access_refs.forget_server(session, server_id=server.id)
    virtual_servers.forget_server(session, server_id=server.id)
    for tool in list_tools(session, server=server):
        session.delete(tool)
    for key in list(session.exec(select(AgentKey).where(AgentKey.workspace_id == server.workspace_id))):
        if slug in key.scope_servers or slug in key.scope_tools:
            # JSON columns are replaced, not mutated in place, so the change is persisted.
            key.scope_servers = [s for s in key.scope_servers if s != slug]
            key.scope_tools = {s: t for s, t in key.scope_tools.items() if s != slug}
            if not key.scope_servers and not key.scope_tools and key.revoked_at is None:
                key.revoked_at = utcnow()
            session.add(key)
    session.delete(server)
    revisions.record(session, reason=f"server {slug} deleted")
    session.flush()


def connection(session: Session, *, slug: str, secrets: SecretBox) -> Connection:
    """URL and decrypted headers of the server ``slug``, its static credential applied
    (for a stdio server: its command and decrypted env)."""
    server = get(session, slug=slug)
    if server.transport == "stdio":
        env = open_env(secrets, server)
        stdio = StdioTarget(command=server.command, args=tuple(server.args), env=env, cwd=server.cwd)
        return Connection(slug=server.slug, url="", headers={}, stdio=stdio)
    url, headers = with_credentials(server.url, open_headers(secrets, server), open_auth(secrets, server))
    return Connection(slug=server.slug, url=url, headers=headers, legacy_sse=server.transport == "sse")


def list_tools(session: Session, *, server: Server) -> list[Tool]:
    """The discovered tools of ``server``, by name."""
    return list(session.exec(select(Tool).where(Tool.server_id == server.id).order_by(Tool.name)))


def replace_catalog(
    session: Session, *, server: Server, catalog: Sequence[DiscoveredTool], record_revision: bool = True
) -> bool:
    """Make the stored catalog equal ``catalog``; returns whether any tool definition changed."""
    now = utcnow()
    existing = {tool.name: tool for tool in list_tools(session, server=server)}
    wanted = {tool.name: tool for tool in catalog}
    changed = False
    for name, tool in existing.items():
        if name not in wanted:
            session.delete(tool)
            changed = True
    for name, found in wanted.items():
        row = existing.get(name)
        if row is None:
            row = Tool(server_id=server.id, name=name)
            changed = True
        elif row.definition_hash != found.definition_hash:
            changed = True
        row.description = found.description
        row.input_schema = found.input_schema
        row.annotations = found.annotations
        row.definition_hash = found.definition_hash
        row.discovered_at = now
        session.add(row)
    server.discovered_at = now
    server.discovery_error = ""
    session.add(server)
    if changed and record_revision:
        revisions.record(session, reason=f"server {server.slug} tool catalog changed")
    session.flush()
    return changed


def record_discovery_error(session: Session, *, slug: str, reason: str) -> None:
    """Remember why the last discovery of ``slug`` failed (the stored catalog stays as it is)."""
    server = get(session, slug=slug)
    server.discovery_error = reason[:2000]
    session.add(server)
    session.flush()


def to_public(server: Server, *, workspace: str) -> ServerPublic:
    """The API form of a server (header names only, never values; the credential without its secret)."""
    auth = UpstreamAuthPublic.model_validate(server.auth or {"type": "none"})
    identity = IdentityForwarding.model_validate(server.identity or {})
    return ServerPublic.model_validate(
        server, update={"workspace": workspace, "auth": auth, "identity": identity}
    )

"""Rows -> snapshot: the pure compiler of one data-plane group's configuration.

It only reads. Header values are decrypted with the master key and sealed to the group's X25519
public key, so the snapshot never carries a secret in clear.

Two hashes, on purpose:

* ``Snapshot.hash`` is the content hash of the document exactly as it is signed, sealed values
  included. That is what ``shared.snapshot.verify_snapshot`` recomputes on the data plane, and it
  is left as it is.
* Sealing is randomized (JWE with an ephemeral key), so that hash changes on every compile even
  when nothing changed. To decide "did the content change?" the control plane therefore compares
  :attr:`CompiledSnapshot.content_key` instead: the content hash of the same document with every
  header value replaced by a SHA-256 digest of (group public key, header name, value), so an
  unchanged database yields the same key and no new push. The key never leaves the control
  plane's memory.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from sqlmodel import Session, select

from control_plane.compiler import access, authn_webhooks, credentials, providers, stdio, virtual
from control_plane.crypto import SecretBox, SecretBoxError
from control_plane.models import AgentKey, DataPlaneGroup, Server, Tool, Workspace
from control_plane.repos import revisions
from shared import sealing
from shared.snapshot import (
    KeyEntry,
    Sealed,
    ServerEntry,
    Snapshot,
    ToolEntry,
    canonical_bytes,
    content_hash,
    snapshot_document,
    with_content_hash,
)


class CompileError(Exception):
    """The group's snapshot cannot be compiled (bad group key, undecryptable secret)."""


@dataclass(frozen=True, slots=True)
class CompiledSnapshot:
    """A compiled snapshot and its stable content key (see the module docstring)."""

    snapshot: Snapshot
    content_key: str


def compile_snapshot(
    session: Session, *, group: DataPlaneGroup, secrets: SecretBox, now: datetime
) -> Snapshot:
    """The snapshot of ``group`` as the database holds it at ``now``."""
    return compile_group(session, group=group, secrets=secrets, now=now).snapshot


def compile_group(
    session: Session, *, group: DataPlaneGroup, secrets: SecretBox, now: datetime
) -> CompiledSnapshot:
    """The snapshot of ``group`` plus its stable content key."""
    now = _aware(now)
    version = str(revisions.latest(session))
    workspace_slugs = {w.id: w.slug for w in session.exec(select(Workspace))}
    servers, headers, auths = _servers(session, workspace_slugs=workspace_slugs, secrets=secrets)
    # The group's identity key travels only to groups that sign identity JWTs.
    wants_identity = any(entry.identity.jwt is not None for entry in servers.values())
    identity = _identity_key(group, secrets) if wants_identity else None
    keys = _keys(session, workspace_slugs=workspace_slugs, servers=set(servers), now=now)
    server_slugs = {entry.id: slug for slug, entry in servers.items()}
    base = Snapshot(
        version=version,
        hash="",
        group=group.name,
        created_at=int(now.timestamp()),
        workspaces=sorted(workspace_slugs.values()),
        servers=servers,
        keys=keys,
        access=access.compile_access(session, workspace_slugs=workspace_slugs, server_slugs=server_slugs),
        virtual_servers=virtual.compile_virtual_servers(
            session, workspace_slugs=workspace_slugs, server_slugs=server_slugs
        ),
    )
    has_secrets = any(headers.values()) or any(a.secret for a in auths.values()) or identity is not None
    group_key = _group_key(group) if has_secrets else None
    key_material = canonical_bytes(group.public_key)
    stable = _with_headers(
        base, headers, auths, identity, lambda name, value: _digest(key_material, name, value)
    )
    if group_key is None:
        sealed = stable
    else:
        sealed = _with_headers(
            base, headers, auths, identity, lambda _name, value: sealing.seal(value, group_key)
        )
    try:
        stable, sealed = providers.attach(
            session,
            stable=stable,
            sealed=sealed,
            secrets=secrets,
            workspace_slugs=workspace_slugs,
            group_key=lambda: _group_key(group),
            digest=lambda value: _digest(key_material, "introspection_client_secret", value),
        )
        stable, sealed = access.attach_webhook_headers(
            session,
            stable=stable,
            sealed=sealed,
            secrets=secrets,
            workspace_slugs=workspace_slugs,
            group_key=lambda: _group_key(group),
            digest=lambda name, value: _digest(key_material, f"webhook:{name}", value),
        )
        stable, sealed = authn_webhooks.attach(
            session,
            stable=stable,
            sealed=sealed,
            secrets=secrets,
            workspace_slugs=workspace_slugs,
            group_key=lambda: _group_key(group),
            digest=lambda name, value: _digest(key_material, f"authn-webhook:{name}", value),
        )
        stable, sealed = stdio.attach_env(
            session,
            stable=stable,
            sealed=sealed,
            secrets=secrets,
            group_key=lambda: _group_key(group),
            digest=lambda name, value: _digest(key_material, f"env:{name}", value),
        )
    except (
        providers.IdentityCompileError,
        access.AccessCompileError,
        authn_webhooks.AuthnWebhookCompileError,
        stdio.StdioCompileError,
    ) as exc:
        raise CompileError(str(exc)) from exc
    content_key = content_hash(snapshot_document(stable) | {"group_key": group.public_key})
    return CompiledSnapshot(snapshot=with_content_hash(sealed), content_key=content_key)


def _servers(
    session: Session, *, workspace_slugs: dict[str, str], secrets: SecretBox
) -> tuple[dict[str, ServerEntry], dict[str, dict[str, str]], dict[str, credentials.PlainAuth]]:
    """Server entries without secrets; plaintext headers and credentials per slug (never logged)."""
    tools: dict[str, dict[str, ToolEntry]] = defaultdict(dict)
    for tool in session.exec(select(Tool).order_by(Tool.name)):
        tools[tool.server_id][tool.name] = tool_entry(tool)
    entries: dict[str, ServerEntry] = {}
    headers: dict[str, dict[str, str]] = {}
    auths: dict[str, credentials.PlainAuth] = {}
    for server in session.exec(select(Server).order_by(Server.slug)):
        entries[server.slug] = ServerEntry(
            id=server.id,
            workspace=workspace_slugs.get(server.workspace_id, ""),
            transport=server.transport if server.transport in ("stdio", "sse") else "streamable-http",
            url=server.url,
            stdio=stdio.stdio_entry(server),
            timeout_seconds=server.timeout_seconds,
            tools=tools.get(server.id, {}),
            identity=credentials.server_identity(server),
        )
        headers[server.slug] = _open_headers(server, secrets)
        auths[server.slug] = _open_auth(server, secrets)
    return entries, headers, auths


def _open_auth(server: Server, secrets: SecretBox) -> credentials.PlainAuth:
    try:
        return credentials.server_auth(server, secrets)
    except credentials.CredentialError as exc:
        raise CompileError(str(exc)) from exc


def _identity_key(group: DataPlaneGroup, secrets: SecretBox) -> str | None:
    try:
        return credentials.identity_key(group, secrets)
    except credentials.CredentialError as exc:
        raise CompileError(str(exc)) from exc


def _open_headers(server: Server, secrets: SecretBox) -> dict[str, str]:
    if not server.headers_encrypted:
        return {}
    try:
        opened: Any = json.loads(secrets.decrypt(server.headers_encrypted))
    except (SecretBoxError, ValueError) as exc:
        raise CompileError(f"headers of server {server.slug!r} cannot be decrypted") from exc
    if not isinstance(opened, dict):
        raise CompileError(f"headers of server {server.slug!r} are not a mapping")
    return {str(name): str(value) for name, value in opened.items()}


def tool_entry(tool: Tool) -> ToolEntry:
    """The snapshot entry of a discovered tool."""
    return ToolEntry(
        description=tool.description,
        annotations=_annotations(tool.annotations),
        definition_hash=tool.definition_hash,
    )


def _annotations(raw: dict[str, Any]) -> dict[str, bool | str | None]:
    """Tool annotations the snapshot schema can carry (MCP hints are booleans, title a string)."""
    return {k: v for k, v in raw.items() if v is None or isinstance(v, bool | str)}


def _keys(
    session: Session, *, workspace_slugs: dict[str, str], servers: set[str], now: datetime
) -> dict[str, KeyEntry]:
    """Usable keys by hash: revoked keys and keys expired at ``now`` are left out."""
    keys: dict[str, KeyEntry] = {}
    for key in session.exec(select(AgentKey).order_by(AgentKey.key_hash)):
        entry = key_entry(key, workspace_slugs=workspace_slugs, servers=servers, now=now)
        if entry is not None:
            keys[key.key_hash] = entry
    return keys


def key_entry(
    key: AgentKey, *, workspace_slugs: dict[str, str], servers: set[str], now: datetime
) -> KeyEntry | None:
    """The snapshot entry of a key; ``None`` when it is revoked or expired at ``now``."""
    if key.revoked_at is not None:
        return None
    expires_at = _aware(key.expires_at) if key.expires_at is not None else None
    if expires_at is not None and expires_at <= _aware(now):
        return None
    scope = _scope(key, servers)
    if not scope and (key.scope_servers or key.scope_tools):
        # Every server its scope named is gone: an empty scope would widen the key, so it is left
        # out (the data planes refuse it as unknown).
        return None
    return KeyEntry(
        id=key.id,
        name=key.name,
        workspace=workspace_slugs.get(key.workspace_id, ""),
        expires_at=int(expires_at.timestamp()) if expires_at is not None else None,
        servers=scope,
        user=key.owner_user_id or "",
    )


def _scope(key: AgentKey, servers: set[str]) -> dict[str, list[str] | None]:
    """Server slug -> allowed tools; a whole-server grant wins over a tool list."""
    scope: dict[str, list[str] | None] = {
        slug: sorted(set(names)) for slug, names in key.scope_tools.items() if slug in servers
    }
    for slug in key.scope_servers:
        if slug in servers:
            scope[slug] = None
    return dict(sorted(scope.items()))


def _group_key(group: DataPlaneGroup) -> OKPKey:
    try:
        key = OKPKey.import_key(group.public_key)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise CompileError(f"group {group.name!r} has no usable public key") from exc
    if key.curve_name != "X25519":
        raise CompileError(f"group {group.name!r} public key is not X25519")
    return key


def _with_headers(
    base: Snapshot,
    headers: dict[str, dict[str, str]],
    auths: dict[str, credentials.PlainAuth],
    identity: str | None,
    value_of: Callable[[str, str], str],
) -> Snapshot:
    """``base`` with every secret (headers, credentials, identity key) replaced by ``value_of``."""
    try:
        servers = {
            slug: entry.model_copy(
                update={
                    "headers": {
                        name: Sealed(sealed=value_of(name, value)) for name, value in headers[slug].items()
                    },
                    "auth": credentials.auth_entry(auths[slug], lambda secret: value_of("auth", secret)),
                }
            )
            for slug, entry in base.servers.items()
        }
    except credentials.CredentialError as exc:
        raise CompileError(str(exc)) from exc
    identity_key = None if identity is None else Sealed(sealed=value_of("identity-key", identity))
    return base.model_copy(update={"servers": servers, "identity_key": identity_key})


def _digest(key_material: bytes, name: str, value: str) -> str:
    material = b"\0".join((key_material, name.encode(), value.encode()))
    return "sha256:" + hashlib.sha256(material).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

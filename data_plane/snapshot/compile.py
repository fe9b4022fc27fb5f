"""Compile a verified :class:`~shared.snapshot.Snapshot` into runtime indexes (once per snapshot)."""

from __future__ import annotations

from typing import Any

import aiohttp
from joserfc.jwk import OKPKey

from data_plane.runtime.authz_webhook import Webhook
from data_plane.runtime.compiled import CompiledSnapshot, LazyIndex, Lookup, Principal, Upstream
from data_plane.runtime.identity.providers import compile_authn_webhooks, compile_providers
from data_plane.runtime.identity_signer import IdentityKeyError, IdentitySigner
from data_plane.runtime.sse_upstream.connection import sse_pool_url, sse_target
from data_plane.runtime.stdio.launch import compile_launch, stdio_url
from data_plane.runtime.upstream_credentials import compile_credentials, compile_identity
from data_plane.runtime.virtual.model import compile_virtual
from data_plane.snapshot.tables import TableSource
from shared.access import AccessIndex
from shared.sealing import UnsealError, unseal
from shared.snapshot import KeyEntry, Sealed, ServerEntry, Snapshot, SnapshotRejected
from shared.snapshot.access import AuthzWebhookEntry


def _upstream(slug: str, entry: ServerEntry, group_key: OKPKey | None, connect_timeout: float) -> Upstream:
    if entry.stdio is not None:
        return _stdio_upstream(slug, entry, group_key, connect_timeout)
    headers: list[tuple[str, str]] = []
    for name, sealed in entry.headers.items():
        if group_key is None:
            raise SnapshotRejected(
                f"cannot unseal header {name!r} of server {slug!r}: no group key configured"
            )
        try:
            headers.append((name, unseal(sealed.sealed, group_key)))
        except UnsealError as exc:
            raise SnapshotRejected(f"cannot unseal header {name!r} of server {slug!r}: {exc}") from exc
    credentials = compile_credentials(
        slug,
        entry.url,
        entry.auth,
        lambda what, sealed: _open(sealed, group_key, f"{what} of server {slug!r}"),
    )
    sse = (
        sse_target(slug, credentials.url, entry.timeout_seconds, connect_timeout)
        if entry.transport == "sse"
        else None
    )
    return Upstream(
        slug=slug,
        server_id=entry.id,
        workspace=entry.workspace,
        url=sse_pool_url(slug, sse) if sse is not None else credentials.url,
        sse=sse,
        timeout_seconds=entry.timeout_seconds,
        injected_headers=(*headers, *credentials.headers),
        token_source=credentials.token_source,
        per_user=credentials.per_user,
        exchange=credentials.exchange,
        identity=compile_identity(entry.url, entry.identity),
        request_timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=entry.timeout_seconds
        ),
        stream_timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=None),
    )


def _stdio_upstream(
    slug: str, entry: ServerEntry, group_key: OKPKey | None, connect_timeout: float
) -> Upstream:
    """A stdio server: its launch (env values unsealed once, here) and the URL of its pool."""
    assert entry.stdio is not None
    launch = compile_launch(
        entry.stdio, lambda what, sealed: _open(sealed, group_key, f"{what} of server {slug!r}")
    )
    return Upstream(
        slug=slug,
        server_id=entry.id,
        workspace=entry.workspace,
        url=stdio_url(slug, launch),
        timeout_seconds=entry.timeout_seconds,
        injected_headers=(),
        stdio=launch,
        request_timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=entry.timeout_seconds
        ),
        stream_timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=None),
    )


def _open(sealed: Sealed, group_key: OKPKey | None, what: str) -> str:
    """Unseal one secret of the snapshot; :class:`SnapshotRejected` when it cannot be."""
    if group_key is None:
        raise SnapshotRejected(f"cannot unseal {what}: no group key configured")
    try:
        return unseal(sealed.sealed, group_key)
    except UnsealError as exc:
        raise SnapshotRejected(f"cannot unseal {what}: {exc}") from exc


def _webhook(workspace: str, entry: AuthzWebhookEntry, group_key: OKPKey | None) -> Webhook:
    return Webhook(
        workspace=workspace,
        url=entry.url,
        timeout_seconds=entry.timeout_seconds,
        cache_seconds=entry.cache_seconds,
        fail_open=entry.failure_mode == "allow",
        headers=tuple(
            (name, _open(sealed, group_key, f"header {name!r} of the authorization webhook of {workspace!r}"))
            for name, sealed in entry.headers.items()
        ),
    )


def _identity_signer(snapshot: Snapshot, group_key: OKPKey | None) -> IdentitySigner | None:
    """The signer of identity JWTs; a server wanting them without an identity key is refused."""
    if snapshot.identity_key is None:
        wanting = sorted(slug for slug, entry in snapshot.servers.items() if entry.identity.jwt is not None)
        if wanting:
            raise SnapshotRejected(
                f"servers {wanting} forward identity JWTs but the snapshot has no identity key"
            )
        return None
    text = _open(snapshot.identity_key, group_key, "the identity key")
    try:
        return IdentitySigner.from_json(text, issuer=f"urn:mcpgw:group:{snapshot.group}")
    except IdentityKeyError as exc:
        raise SnapshotRejected(str(exc)) from exc


def _check_stdio(slugs: list[str], allow_stdio: bool) -> None:
    if slugs and not allow_stdio:
        raise SnapshotRejected(
            f"this data plane does not run stdio servers (MCPGW_DP_ALLOW_STDIO is off): {slugs}"
        )


def _principal(entry: KeyEntry, access: AccessIndex) -> Principal:
    return Principal(
        key_id=entry.id,
        name=entry.name,
        workspace=entry.workspace,
        expires_at=entry.expires_at,
        caller=access.caller_for_key(entry),
    )


def _common(snapshot: Snapshot, group_key: OKPKey | None) -> dict[str, Any]:
    """The small sections, compiled: the same for a snapshot in memory and one in tables."""
    return {
        "version": snapshot.version,
        "hash": snapshot.hash,
        "group": snapshot.group,
        "webhooks": {
            workspace: _webhook(workspace, entry, group_key)
            for workspace, entry in snapshot.access.webhooks.items()
        },
        "identity": compile_providers(snapshot.identity_providers, group_key),
        "authn_webhooks": compile_authn_webhooks(snapshot.authn_webhooks, group_key),
        "identity_signer": _identity_signer(snapshot, group_key),
    }


def _hosted(upstream: Upstream) -> bool:
    """Whether the in-process host runs this server's pool (stdio processes, SSE streams)."""
    return upstream.stdio is not None or upstream.sse is not None


def _virtual(snapshot: Snapshot, servers: Lookup[Upstream]) -> dict[str, Any]:
    return {slug: compile_virtual(slug, entry, servers) for slug, entry in snapshot.virtual_servers.items()}


def compile_snapshot(
    snapshot: Snapshot,
    group_key: OKPKey | None,
    *,
    connect_timeout: float = 5.0,
    allow_stdio: bool = False,
) -> CompiledSnapshot:
    """Build every runtime index at once; raises :class:`SnapshotRejected` when a secret cannot be
    unsealed, or when the snapshot has stdio servers and this data plane does not run them
    (``allow_stdio``). A large snapshot passes :func:`check_snapshot` instead, before its tables are written.
    """
    _check_stdio(
        sorted(slug for slug, entry in snapshot.servers.items() if entry.stdio is not None), allow_stdio
    )
    access = AccessIndex.of(snapshot)
    keys = {key_hash: _principal(entry, access) for key_hash, entry in snapshot.keys.items()}
    servers = {
        slug: _upstream(slug, entry, group_key, connect_timeout) for slug, entry in snapshot.servers.items()
    }
    return CompiledSnapshot(
        keys=keys,
        servers=servers,
        hosted={slug: upstream for slug, upstream in servers.items() if _hosted(upstream)},
        access=access,
        virtual_servers=_virtual(snapshot, servers),
        **_common(snapshot, group_key),
    )


def check_snapshot(
    snapshot: Snapshot, group_key: OKPKey | None, *, connect_timeout: float = 5.0, allow_stdio: bool = False
) -> None:
    """Refuse what :func:`compile_snapshot` refuses (stdio, secrets that do not unseal, identity
    key, webhooks) without building the key and access indexes, which cannot fail."""
    _check_stdio(
        sorted(slug for slug, entry in snapshot.servers.items() if entry.stdio is not None), allow_stdio
    )
    for slug, entry in snapshot.servers.items():
        _upstream(slug, entry, group_key, connect_timeout)
    _common(snapshot, group_key)


def compile_tables(
    tables: TableSource, group_key: OKPKey | None, *, connect_timeout: float = 5.0, cache_entries: int
) -> CompiledSnapshot:
    """Runtime indexes over a large snapshot's tables: keys, servers and their grants are
    compiled on first use, at most ``cache_entries`` of each kept. The snapshot passed
    :func:`check_snapshot` before its tables were written, so nothing here is refused.
    """
    rest = tables.rest()
    access = AccessIndex.over(rest, tables, cache_servers=cache_entries)

    def key(key_hash: str) -> Principal | None:
        entry = tables.key(key_hash)
        return _principal(entry, access) if entry is not None else None

    def server(slug: str) -> Upstream | None:
        entry = tables.server(slug)
        return _upstream(slug, entry, group_key, connect_timeout) if entry is not None else None

    hosted = {
        slug: _upstream(slug, entry, group_key, connect_timeout)
        for slug in tables.hosted_slugs()
        if (entry := tables.server(slug)) is not None
    }
    lazy_servers = LazyIndex(server, cache_entries)
    return CompiledSnapshot(
        keys=LazyIndex(key, cache_entries),
        servers=lazy_servers,
        hosted=hosted,
        access=access,
        tables=tables.path,
        virtual_servers=_virtual(rest, lazy_servers),
        **_common(rest, group_key),
    )

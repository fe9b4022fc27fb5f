"""Compile a verified :class:`~shared.snapshot.Snapshot` into runtime indexes (once per snapshot)."""

from __future__ import annotations

import aiohttp
from joserfc.jwk import OKPKey

from data_plane.runtime.authz_webhook import Webhook
from data_plane.runtime.compiled import CompiledSnapshot, Principal, Upstream
from data_plane.runtime.identity.providers import compile_providers
from data_plane.runtime.identity_signer import IdentityKeyError, IdentitySigner
from data_plane.runtime.stdio.launch import compile_launch, stdio_url
from data_plane.runtime.upstream_credentials import compile_credentials, compile_identity
from shared.access import AccessIndex
from shared.sealing import UnsealError, unseal
from shared.snapshot import Sealed, ServerEntry, Snapshot, SnapshotRejected
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
    return Upstream(
        slug=slug,
        server_id=entry.id,
        workspace=entry.workspace,
        url=credentials.url,
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


def compile_snapshot(
    snapshot: Snapshot,
    group_key: OKPKey | None,
    *,
    connect_timeout: float = 5.0,
    allow_stdio: bool = False,
) -> CompiledSnapshot:
    """Build the runtime indexes; raises :class:`SnapshotRejected` when a secret cannot be unsealed,
    or when the snapshot has stdio servers and this data plane does not run them (``allow_stdio``).
    """
    stdio = sorted(slug for slug, entry in snapshot.servers.items() if entry.stdio is not None)
    if stdio and not allow_stdio:
        raise SnapshotRejected(
            f"this data plane does not run stdio servers (MCPGW_DP_ALLOW_STDIO is off): {stdio}"
        )
    access = AccessIndex.of(snapshot)
    keys = {
        key_hash: Principal(
            key_id=entry.id,
            name=entry.name,
            workspace=entry.workspace,
            expires_at=entry.expires_at,
            caller=access.caller_for_key(entry),
        )
        for key_hash, entry in snapshot.keys.items()
    }
    servers = {
        slug: _upstream(slug, entry, group_key, connect_timeout) for slug, entry in snapshot.servers.items()
    }
    return CompiledSnapshot(
        version=snapshot.version,
        hash=snapshot.hash,
        group=snapshot.group,
        keys=keys,
        servers=servers,
        access=access,
        webhooks={
            workspace: _webhook(workspace, entry, group_key)
            for workspace, entry in snapshot.access.webhooks.items()
        },
        identity=compile_providers(snapshot.identity_providers, group_key),
        identity_signer=_identity_signer(snapshot, group_key),
    )

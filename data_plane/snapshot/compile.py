"""Compile a verified :class:`~shared.snapshot.Snapshot` into runtime indexes (once per snapshot)."""

from __future__ import annotations

import aiohttp
from joserfc.jwk import OKPKey

from data_plane.runtime.compiled import CompiledSnapshot, Principal, Upstream
from shared.sealing import UnsealError, unseal
from shared.snapshot import ServerEntry, Snapshot, SnapshotRejected


def _upstream(slug: str, entry: ServerEntry, group_key: OKPKey | None, connect_timeout: float) -> Upstream:
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
    return Upstream(
        slug=slug,
        server_id=entry.id,
        workspace=entry.workspace,
        url=entry.url,
        timeout_seconds=entry.timeout_seconds,
        injected_headers=tuple(headers),
        request_timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=entry.timeout_seconds
        ),
        stream_timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=None),
    )


def compile_snapshot(
    snapshot: Snapshot, jws: str, group_key: OKPKey | None, *, connect_timeout: float = 5.0
) -> CompiledSnapshot:
    """Build the runtime indexes; raises :class:`SnapshotRejected` when a secret cannot be unsealed."""
    keys = {
        key_hash: Principal(
            key_id=entry.id,
            name=entry.name,
            workspace=entry.workspace,
            expires_at=entry.expires_at,
            servers={
                slug: None if tools is None else frozenset(tools) for slug, tools in entry.servers.items()
            },
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
        jws=jws,
        keys=keys,
        servers=servers,
    )

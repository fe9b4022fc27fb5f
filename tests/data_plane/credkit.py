"""Test kit for upstream credentials: snapshots whose servers carry sealed credentials."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from joserfc.jwk import OKPKey

from data_plane.app import create_app
from shared.sealing import seal
from shared.snapshot import Sealed, ServerEntry, Snapshot, with_content_hash
from shared.snapshot.credentials import IdentityForwarding, UpstreamAuth
from tests.data_plane.dpkit import RunningDataPlane, dp_settings, serving
from tests.data_plane.kit import KeyPair, make_snapshot, sign


def sealed(keys: KeyPair, value: str) -> Sealed:
    """``value`` sealed to the test group."""
    return Sealed(sealed=seal(value, keys.group_public))


def with_servers(
    keys: KeyPair,
    servers: dict[str, ServerEntry],
    *,
    identity_key: OKPKey | None = None,
) -> Snapshot:
    """The kit's snapshot with extra ``servers`` (the wide key may use each of them)."""
    base = make_snapshot(keys)
    entries = {
        h: k.model_copy(update={"servers": {**k.servers, **dict.fromkeys(servers)}})
        for h, k in base.keys.items()
    }
    sealed_key = (
        None if identity_key is None else sealed(keys, json.dumps(identity_key.as_dict(private=True)))
    )
    draft = base.model_copy(
        update={"servers": {**base.servers, **servers}, "keys": entries, "identity_key": sealed_key}
    )
    return with_content_hash(draft)


def server(
    url: str, auth: UpstreamAuth | None = None, identity: IdentityForwarding | None = None
) -> ServerEntry:
    """A server entry with a credential and identity forwarding."""
    extra: dict[str, object] = {}
    if auth is not None:
        extra["auth"] = auth
    if identity is not None:
        extra["identity"] = identity
    return ServerEntry.model_validate(
        {"id": "srv", "workspace": "demo", "url": url, "timeout_seconds": 10, **extra}
    )


@asynccontextmanager
async def serving_snapshot(
    keys: KeyPair, tmp_path: Path, snapshot: Snapshot
) -> AsyncIterator[RunningDataPlane]:
    """A data plane booted from ``snapshot`` (as a signed file) on 127.0.0.1:<free port>."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    snapshot_file = tmp_path / "exported.jws"
    snapshot_file.write_text(sign(snapshot, keys))
    app = create_app(dp_settings(keys, tmp_path, snapshot_file=snapshot_file))
    async with serving(app) as base_url:
        yield RunningDataPlane(app=app, base_url=base_url)

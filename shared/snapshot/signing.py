"""Signing and verification of snapshots: compact JWS with Ed25519 (RFC 8037 / RFC 9864).

The control plane signs the canonical bytes of a snapshot with its private key; a data plane
verifies with the control plane's public key, then checks that the signed content hashes to
the hash it claims. Anything else is refused with :class:`SnapshotRejected`.
"""

from __future__ import annotations

from typing import Any

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry
from pydantic import ValidationError

from shared.snapshot.canonical import canonical_bytes, content_hash, snapshot_document
from shared.snapshot.schema import SCHEMA_VERSION, Snapshot

ALGORITHM = "Ed25519"
MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024
"""The largest signed payload accepted; equal to the gRPC message limit of both planes.

joserfc refuses payloads over ~126 KiB by default (a guard for tokens), far below a snapshot of a
few hundred keys, so verification uses a registry with this limit instead.
"""


def _registry() -> JWSRegistry:
    registry = JWSRegistry(algorithms=[ALGORITHM])
    registry.max_payload_length = MAX_SNAPSHOT_BYTES
    return registry


class SnapshotRejected(Exception):
    """A snapshot failed verification or validation; ``reason`` says why (never a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign_snapshot(snapshot: Snapshot, key: OKPKey) -> str:
    """Return the compact JWS of the snapshot's canonical form."""
    payload = canonical_bytes(snapshot_document(snapshot))
    return jws.serialize_compact(
        {"alg": ALGORITHM, "typ": "mcpgw-snapshot+jws"}, payload, key, algorithms=[ALGORITHM]
    )


def verify_snapshot(token: str, public_key: OKPKey) -> Snapshot:
    """Verify signature, schema version, content hash and schema; return the snapshot."""
    try:
        obj = jws.deserialize_compact(token, public_key, registry=_registry())
    except (JoseError, ValueError) as exc:
        raise SnapshotRejected(f"signature verification failed: {type(exc).__name__}") from exc
    try:
        document: Any = orjson.loads(obj.payload)
    except orjson.JSONDecodeError as exc:
        raise SnapshotRejected("signed payload is not JSON") from exc
    if not isinstance(document, dict):
        raise SnapshotRejected("signed payload is not a JSON object")
    schema_version = document.get("schema_version")
    if schema_version != SCHEMA_VERSION:
        raise SnapshotRejected(
            f"unsupported schema_version {schema_version!r} (this data plane knows {SCHEMA_VERSION})"
        )
    if content_hash(document) != document.get("hash"):
        raise SnapshotRejected("content hash does not match the signed content")
    try:
        return Snapshot.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:20])
        raise SnapshotRejected(f"invalid snapshot: {problems}") from exc

"""Snapshot schema, canonical form, hashing and signing (shared by both planes)."""

from shared.snapshot.canonical import canonical_bytes, content_hash, snapshot_document, with_content_hash
from shared.snapshot.schema import (
    SCHEMA_VERSION,
    SIGNING_ALGORITHMS,
    AuthnWebhookEntry,
    ClaimMapping,
    IdentityProviderEntry,
    KeyEntry,
    Sealed,
    ServerEntry,
    Snapshot,
    ToolEntry,
)
from shared.snapshot.signing import SnapshotRejected, sign_snapshot, verify_snapshot
from shared.snapshot.stdio import StdioEntry
from shared.snapshot.virtual import VirtualMember, VirtualServerEntry

__all__ = [
    "SCHEMA_VERSION",
    "SIGNING_ALGORITHMS",
    "AuthnWebhookEntry",
    "ClaimMapping",
    "IdentityProviderEntry",
    "KeyEntry",
    "Sealed",
    "ServerEntry",
    "Snapshot",
    "SnapshotRejected",
    "StdioEntry",
    "ToolEntry",
    "VirtualMember",
    "VirtualServerEntry",
    "canonical_bytes",
    "content_hash",
    "sign_snapshot",
    "snapshot_document",
    "verify_snapshot",
    "with_content_hash",
]

"""Snapshot signing and verification, including snapshots far larger than a token."""

from __future__ import annotations

import pytest

from shared import keyfiles
from shared.snapshot import (
    KeyEntry,
    ServerEntry,
    Snapshot,
    SnapshotRejected,
    sign_snapshot,
    verify_snapshot,
    with_content_hash,
)


def _snapshot(servers: int, keys: int) -> Snapshot:
    return with_content_hash(
        Snapshot(
            version="7",
            hash="",
            group="default",
            created_at=1,
            servers={
                f"s{i}": ServerEntry(id=f"id{i}", workspace="w", url=f"http://127.0.0.1/{i}/mcp")
                for i in range(servers)
            },
            keys={
                f"{i:064x}": KeyEntry(id=f"k{i}", name=f"key{i}", workspace="w", servers={"s0": None})
                for i in range(keys)
            },
        )
    )


@pytest.mark.parametrize(("servers", "keys"), [(1, 1), (2_000, 5_000)])
def test_a_signed_snapshot_verifies_whatever_its_size(servers: int, keys: int) -> None:
    key = keyfiles.generate("Ed25519")
    snapshot = _snapshot(servers, keys)
    token = sign_snapshot(snapshot, key)
    verified = verify_snapshot(token, keyfiles.from_jwk(keyfiles.public_jwk(key)))
    assert verified == snapshot


def test_a_snapshot_signed_by_another_key_is_rejected() -> None:
    token = sign_snapshot(_snapshot(1, 1), keyfiles.generate("Ed25519"))
    with pytest.raises(SnapshotRejected, match="signature"):
        verify_snapshot(token, keyfiles.from_jwk(keyfiles.public_jwk(keyfiles.generate("Ed25519"))))


def test_a_snapshot_whose_content_does_not_match_its_hash_is_rejected() -> None:
    key = keyfiles.generate("Ed25519")
    forged = _snapshot(1, 1).model_copy(update={"hash": "0" * 64})
    with pytest.raises(SnapshotRejected, match="hash"):
        verify_snapshot(sign_snapshot(forged, key), keyfiles.from_jwk(keyfiles.public_jwk(key)))

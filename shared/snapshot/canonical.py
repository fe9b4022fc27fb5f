"""Canonical JSON form and content hash of a snapshot.

The canonical form is UTF-8 JSON with sorted keys and no insignificant whitespace, so the same
content always yields the same bytes, the same SHA-256 and the same signature input.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from shared.snapshot.schema import Snapshot

_NOT_CONTENT = ("version", "hash", "created_at")


def canonical_bytes(document: Any) -> bytes:
    """Serialize a JSON-compatible value canonically (sorted keys, compact)."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


def content_hash(document: dict[str, Any]) -> str:
    """SHA-256 (hex) over the canonical form of the snapshot content."""
    content = {k: v for k, v in document.items() if k not in _NOT_CONTENT}
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def snapshot_document(snapshot: Snapshot) -> dict[str, Any]:
    """The JSON document of a snapshot, exactly as it is hashed and signed.

    A snapshot without virtual servers leaves the section out, so it stays byte for byte what
    data planes that predate virtual servers accept.
    """
    document = snapshot.model_dump(mode="json")
    if not document.get("virtual_servers"):
        document.pop("virtual_servers", None)
    return document


def with_content_hash(snapshot: Snapshot) -> Snapshot:
    """Return ``snapshot`` with its ``hash`` set from its own content."""
    return snapshot.model_copy(update={"hash": content_hash(snapshot_document(snapshot))})

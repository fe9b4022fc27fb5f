"""The audit spool: unacknowledged batches saved at shutdown and replayed at the next start.

Format: a sequence of frames, each a 4-byte big-endian length and a serialized ``AuditBatch``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from google.protobuf.message import DecodeError

from data_plane.snapshot.files import write_atomic
from shared.wire.mcpgw.audit.v1 import audit_pb2

logger = logging.getLogger(__name__)


def write_spool(path: Path, batches: Iterable[bytes]) -> int:
    """Replace the spool with serialized ``batches`` (removed when there are none); returns how many."""
    frames = list(batches)
    if not frames:
        path.unlink(missing_ok=True)
        return 0
    write_atomic(path, b"".join(len(f).to_bytes(4, "big") + f for f in frames))
    return len(frames)


def read_spool(path: Path) -> list[tuple[str, bytes]]:
    """The (batch id, serialized batch) pairs in the spool (empty when there is none); a torn
    tail is logged and skipped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    batches: list[tuple[str, bytes]] = []
    offset = 0
    while offset + 4 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        frame = data[offset + 4 : offset + 4 + size]
        if len(frame) != size:
            break
        try:
            batches.append((audit_pb2.AuditBatch.FromString(frame).batch_id, frame))
        except DecodeError:
            break
        offset += 4 + size
    if offset != len(data):
        logger.error("audit spool %s has a damaged tail after %d batches; it is skipped", path, len(batches))
    return batches

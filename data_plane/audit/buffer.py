"""The bounded audit buffer: requests enqueue without ever blocking; overflow is counted.

Events wait here serialized, about 200 bytes each instead of about 1.3 KB as protobuf objects,
so a buffer filling up during a control-plane outage stays small (50,000 events: ~10 MB, not
~63 MB). Each record is the event already framed as one element of ``AuditBatch.events``
(field tag, length, message): records concatenated are a serialized batch's event list, which
protobuf parses as one message (concatenated messages merge, repeated fields append).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from shared.wire.mcpgw.audit.v1 import audit_pb2

logger = logging.getLogger(__name__)


class AuditBuffer:
    """A bounded FIFO of audit events between the request path and the shipper."""

    def __init__(self, *, capacity: int, batch_size: int) -> None:
        self._events: deque[bytes] = deque()
        self._capacity = capacity
        self._batch_size = batch_size
        self._ready = asyncio.Event()
        self.dropped = 0
        """Events refused because the buffer was full (a metric)."""
        self.accepted = 0

    def __len__(self) -> int:
        return len(self._events)

    def put(self, event: audit_pb2.AuditEvent) -> bool:
        """Enqueue ``event``; False (and counted) when the buffer is full. Never blocks."""
        if len(self._events) >= self._capacity:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning(
                    "audit buffer full (%d events): %d events dropped so far", self._capacity, self.dropped
                )
            return False
        body = event.SerializeToString()
        self._events.append(_EVENTS_TAG + _varint(len(body)) + body)
        self.accepted += 1
        if len(self._events) >= self._batch_size:
            self._ready.set()
        return True

    def take_batch(self, limit: int) -> tuple[int, bytes]:
        """Remove up to ``limit`` of the oldest events: how many, and their wire encoding as
        ``AuditBatch.events`` (parse it with ``AuditBatch.FromString``)."""
        events = self._events
        count = min(limit, len(events))
        taken = b"".join([events.popleft() for _ in range(count)])
        if len(events) < self._batch_size:
            self._ready.clear()
        return count, taken

    def take(self, limit: int) -> list[audit_pb2.AuditEvent]:
        """Remove and return up to ``limit`` of the oldest events, decoded."""
        return list(audit_pb2.AuditBatch.FromString(self.take_batch(limit)[1]).events)

    async def wait(self, max_seconds: float) -> None:
        """Return when a full batch is waiting, or after ``max_seconds``."""
        if self._ready.is_set():
            return
        try:
            async with asyncio.timeout(max_seconds):
                await self._ready.wait()
        except TimeoutError:
            return


_EVENTS_TAG = bytes([(audit_pb2.AuditBatch.EVENTS_FIELD_NUMBER << 3) | 2])
"""The key of ``AuditBatch.events`` (wire type 2, length-delimited); one byte for field 3."""


def _varint(value: int) -> bytes:
    """Protobuf's base-128 varint: 7 bits a byte, low bits first, high bit set while more follow."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)

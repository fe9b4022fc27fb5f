"""The bounded audit buffer: requests enqueue without ever blocking; overflow is counted."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from shared.wire.mcpgw.audit.v1 import audit_pb2

logger = logging.getLogger(__name__)


class AuditBuffer:
    """A bounded FIFO of audit events between the request path and the shipper."""

    def __init__(self, *, capacity: int, batch_size: int) -> None:
        self._events: deque[audit_pb2.AuditEvent] = deque()
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
        self._events.append(event)
        self.accepted += 1
        if len(self._events) >= self._batch_size:
            self._ready.set()
        return True

    def take(self, limit: int) -> list[audit_pb2.AuditEvent]:
        """Remove and return up to ``limit`` of the oldest events."""
        events = self._events
        count = min(limit, len(events))
        taken = [events.popleft() for _ in range(count)]
        if len(events) < self._batch_size:
            self._ready.clear()
        return taken

    async def wait(self, max_seconds: float) -> None:
        """Return when a full batch is waiting, or after ``max_seconds``."""
        if self._ready.is_set():
            return
        try:
            async with asyncio.timeout(max_seconds):
                await self._ready.wait()
        except TimeoutError:
            return

"""The audit shipper: batches events from the buffer onto the ``AuditIngest.Report`` stream.

Every batch stays in ``pending`` until the control plane acknowledges it; after a reconnect
all pending batches are sent again (the store is idempotent by event id). At shutdown what is
still pending, and what is still buffered, goes to the spool; at start the spool is replayed.

Pending batches are kept serialized, as they were sent: the stream is opened with the
``AuditIngest/Report`` method's own name and an identity request serializer, so a batch is
encoded once and a long unacknowledged backlog costs its wire size, not protobuf objects.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import grpc

from data_plane.audit.buffer import AuditBuffer
from data_plane.audit.spool import read_spool, write_spool
from data_plane.runtime.backoff import Backoff
from data_plane.runtime.grpc_options import CHANNEL_OPTIONS, STREAM_ERRORS
from shared.wire.mcpgw.audit.v1 import audit_pb2

logger = logging.getLogger(__name__)

_SERVICE = audit_pb2.DESCRIPTOR.services_by_name["AuditIngest"]
REPORT_METHOD = f"/{_SERVICE.full_name}/{_SERVICE.methods_by_name['Report'].name}"
"""``/mcpgw.audit.v1.AuditIngest/Report``, the path the generated stub uses."""


def _as_sent(frame: bytes) -> bytes:
    return frame


class AuditShipper:
    """Moves audit events from the buffer to the control plane, losing none it accepted."""

    def __init__(
        self,
        *,
        target: str | None,
        buffer: AuditBuffer,
        node_id: str,
        spool_file: Path | None,
        batch_size: int = 200,
        flush_seconds: float = 0.2,
        max_pending_batches: int = 1000,
        connect_timeout: float = 10.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._target = target
        self._buffer = buffer
        self._node_id = node_id
        self._spool_file = spool_file
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._max_pending = max_pending_batches
        self._connect_timeout = connect_timeout
        self._backoff = backoff or Backoff()
        self.pending: dict[str, bytes] = {}
        """Serialized ``AuditBatch`` by batch id: sent (or to be sent), not yet acknowledged, oldest first."""
        self.connected = False
        self.acked_batches = 0
        self.stored_events = 0
        self._acked = asyncio.Event()

    def load_spool(self) -> int:
        """Queue the batches spooled by the previous run (they are resent first)."""
        if self._spool_file is None:
            return 0
        for batch_id, frame in read_spool(self._spool_file):
            self.pending[batch_id] = frame
        if self.pending:
            logger.info("replaying %d spooled audit batches", len(self.pending))
        return len(self.pending)

    def spool(self) -> int:
        """Move everything buffered into batches and write all pending batches to the spool."""
        while len(self._buffer):
            self._new_batch()
        if self._spool_file is None:
            return 0
        count = write_spool(self._spool_file, self.pending.values())
        if count:
            logger.info("spooled %d unacknowledged audit batches to %s", count, self._spool_file)
        return count

    async def wait_all_acked(self) -> None:
        """Return once nothing is pending or buffered (bound it with ``asyncio.timeout``)."""
        while self.pending or len(self._buffer):
            self._acked.clear()
            await self._acked.wait()

    async def run(self) -> None:
        """Ship until cancelled, reconnecting with backoff after every break."""
        if self._target is None:
            return
        while True:
            try:
                await self._session(self._target)
            except STREAM_ERRORS as exc:
                logger.warning("audit stream to %s broke: %s", self._target, type(exc).__name__)
            finally:
                self.connected = False
            await asyncio.sleep(self._backoff.next())

    def _new_batch(self) -> bytes | None:
        count, events = self._buffer.take_batch(self._batch_size)
        if not count:
            return None
        batch_id = uuid.uuid4().hex
        # Concatenated serialized messages merge: the header fields, then the framed events.
        frame = audit_pb2.AuditBatch(batch_id=batch_id, node_id=self._node_id).SerializeToString() + events
        self.pending[batch_id] = frame
        return frame

    async def _session(self, target: str) -> None:
        async with grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) as channel:
            async with asyncio.timeout(self._connect_timeout):
                await channel.channel_ready()
            report = channel.stream_stream(
                REPORT_METHOD,
                request_serializer=_as_sent,
                response_deserializer=audit_pb2.AuditBatchAck.FromString,
            )
            call = report()
            for batch in list(self.pending.values()):
                await call.write(batch)
            self.connected = True
            self._backoff.reset()
            reader = asyncio.create_task(self._read_acks(call), name="audit-acks")
            try:
                while not reader.done():
                    await self._buffer.wait(self._flush_seconds)
                    if reader.done() or len(self.pending) >= self._max_pending:
                        continue
                    fresh = self._new_batch()
                    if fresh is not None:
                        await call.write(fresh)
                reader.result()  # re-raises the stream error, if any
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _read_acks(self, call: grpc.aio.StreamStreamCall[bytes, audit_pb2.AuditBatchAck]) -> None:
        while True:
            ack = await call.read()
            if not isinstance(ack, audit_pb2.AuditBatchAck):
                return  # end of stream
            if self.pending.pop(ack.batch_id, None) is not None:
                self.acked_batches += 1
                self.stored_events += ack.stored
            self._acked.set()

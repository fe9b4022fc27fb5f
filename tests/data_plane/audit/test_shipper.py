"""The audit shipper against an in-test AuditIngest server, and the spool across restarts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from data_plane.audit.buffer import AuditBuffer
from data_plane.audit.shipper import AuditShipper
from data_plane.runtime.backoff import Backoff
from shared.wire.mcpgw.audit.v1 import audit_pb2, audit_pb2_grpc


class FlakyIngest(audit_pb2_grpc.AuditIngestServicer):
    """Breaks the first stream after receiving one batch (no ack); acks everything afterwards."""

    def __init__(self) -> None:
        self.streams = 0
        self.received: list[str] = []
        self.stored: set[str] = set()

    async def Report(
        self, request_iterator: AsyncIterator[audit_pb2.AuditBatch], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[audit_pb2.AuditBatchAck]:
        self.streams += 1
        stream = self.streams
        async for batch in request_iterator:
            self.received.append(batch.batch_id)
            if stream == 1:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "control plane restarting")
            new = {e.event_id for e in batch.events} - self.stored
            self.stored |= new
            yield audit_pb2.AuditBatchAck(batch_id=batch.batch_id, stored=len(new))


def event(n: int) -> audit_pb2.AuditEvent:
    return audit_pb2.AuditEvent(event_id=f"e{n}", method="tools/call", status="ok")


@pytest.fixture
async def ingest() -> AsyncIterator[tuple[FlakyIngest, str]]:
    servicer = FlakyIngest()
    server = grpc.aio.server()
    audit_pb2_grpc.add_AuditIngestServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


async def test_unacked_batch_is_resent_after_a_broken_stream_and_then_acked(
    ingest: tuple[FlakyIngest, str], tmp_path: Path
) -> None:
    servicer, target = ingest
    buffer = AuditBuffer(capacity=100, batch_size=3)
    shipper = AuditShipper(
        target=target,
        buffer=buffer,
        node_id="node-1",
        spool_file=tmp_path / "spool.bin",
        batch_size=3,
        flush_seconds=0.01,
        backoff=Backoff(base=0.01, cap=0.05),
    )
    for n in range(3):
        buffer.put(event(n))
    task = asyncio.create_task(shipper.run())
    try:
        async with asyncio.timeout(10):
            await shipper.wait_all_acked()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert servicer.streams >= 2
    first = servicer.received[0]
    assert servicer.received.count(first) >= 2  # the same batch, sent again after the break
    assert servicer.stored == {"e0", "e1", "e2"}
    assert shipper.acked_batches == 1 and shipper.stored_events == 3
    assert not shipper.pending


async def test_unacked_and_buffered_events_survive_a_restart_through_the_spool(tmp_path: Path) -> None:
    spool = tmp_path / "spool.bin"
    buffer = AuditBuffer(capacity=100, batch_size=2)
    for n in range(5):
        buffer.put(event(n))
    before = AuditShipper(target=None, buffer=buffer, node_id="n", spool_file=spool, batch_size=2)
    assert before.spool() == 3
    assert spool.exists() and len(buffer) == 0

    after = AuditShipper(
        target=None,
        buffer=AuditBuffer(capacity=100, batch_size=2),
        node_id="n",
        spool_file=spool,
        batch_size=2,
    )
    assert after.load_spool() == 3
    batches = [audit_pb2.AuditBatch.FromString(frame) for frame in after.pending.values()]
    assert [b.batch_id for b in batches] == list(after.pending)
    replayed = [e.event_id for batch in batches for e in batch.events]
    assert replayed == ["e0", "e1", "e2", "e3", "e4"]


async def test_an_empty_spool_leaves_no_file(tmp_path: Path) -> None:
    spool = tmp_path / "spool.bin"
    spool.write_bytes(b"old")
    shipper = AuditShipper(
        target=None, buffer=AuditBuffer(capacity=1, batch_size=1), node_id="n", spool_file=spool
    )
    assert shipper.spool() == 0
    assert not spool.exists()


def test_buffered_events_come_back_field_for_field_in_one_parsed_batch() -> None:
    buffer = AuditBuffer(capacity=1000, batch_size=500)
    sent = [
        audit_pb2.AuditEvent(event_id=f"e{n}", reason="r" * n * 60, teams=["a", "b"], latency_ms=n / 3)
        for n in range(300)  # reasons up to ~18 KB: lengths of one, two and three varint bytes
    ]
    for e in sent:
        buffer.put(e)

    count, events = buffer.take_batch(250)
    batch = audit_pb2.AuditBatch.FromString(
        audit_pb2.AuditBatch(batch_id="b", node_id="n").SerializeToString() + events
    )

    assert count == 250 and len(buffer) == 50
    assert (batch.batch_id, batch.node_id) == ("b", "n")
    assert list(batch.events) == sent[:250]
    assert buffer.take(100) == sent[250:]

"""Audit ingest: events per second through the real ``AuditIngest.Report`` gRPC service.

Several concurrent streams (as several data planes would open) send batches of realistic
events built from ``shared.wire`` protobufs; a batch counts once the control plane has
acknowledged it, i.e. once it is committed to the database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import uvloop

from shared.wire.mcpgw.audit.v1 import audit_pb2, audit_pb2_grpc

BATCH_SIZE = 200
"""The data plane's default ``audit_batch_size``."""
IN_FLIGHT = 8
"""Unacknowledged batches per stream (the data plane keeps up to 1,000 pending)."""


def _batch(node: str) -> audit_pb2.AuditBatch:
    now = int(time.time() * 1000)
    events = [
        audit_pb2.AuditEvent(
            event_id=uuid.uuid4().hex,
            time_unix_ms=now,
            node_id=node,
            snapshot_version="7",
            workspace="bench",
            key_id="key-id",
            key_name="narrow",
            server="fast",
            method="tools/call",
            tool="echo",
            status="ok",
            http_status=200,
            latency_ms=1.25,
            request_id=str(i),
            rule="key-scope",
        )
        for i in range(BATCH_SIZE)
    ]
    return audit_pb2.AuditBatch(batch_id=uuid.uuid4().hex, node_id=node, events=events)


async def _stream(target: str, node: str, deadline: float) -> int:
    """One stream: keep ``IN_FLIGHT`` batches unacknowledged until ``deadline``; returns events stored."""
    window = asyncio.Semaphore(IN_FLIGHT)
    stored = 0
    async with grpc.aio.insecure_channel(target) as channel:
        stub = audit_pb2_grpc.AuditIngestStub(channel)

        async def batches() -> AsyncIterator[audit_pb2.AuditBatch]:
            while time.perf_counter() < deadline:
                await window.acquire()
                yield _batch(node)

        call: Any = stub.Report(batches())
        async for ack in call:
            stored += ack.stored
            window.release()
    return stored


async def _run(target: str, streams: int, seconds: float) -> tuple[int, float]:
    start = time.perf_counter()
    deadline = start + seconds
    totals = await asyncio.gather(*(_stream(target, f"bench-node-{n}", deadline) for n in range(streams)))
    return sum(totals), time.perf_counter() - start


def measure(grpc_port: int, *, streams: int, seconds: float) -> dict[str, Any]:
    """Drive ``streams`` concurrent Report streams for ``seconds``; events/s stored."""
    stored, wall = uvloop.run(_run(f"127.0.0.1:{grpc_port}", streams, seconds))
    return {
        "streams": streams,
        "batch_size": BATCH_SIZE,
        "in_flight_per_stream": IN_FLIGHT,
        "seconds": round(wall, 2),
        "events_stored": stored,
        "events_per_s": round(stored / wall, 1),
    }

"""Audit ingest over a real gRPC Report stream: batches stored idempotently and acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from control_plane.models import AuditEvent
from shared.wire.mcpgw.audit.v1 import audit_pb2
from tests.control_plane.distribution.clients import ReportClient
from tests.control_plane.distribution.conftest import Running

WHEN_MS = 1_893_456_000_123  # 2030-01-01T00:00:00.123Z


def event(event_id: str, **fields: object) -> audit_pb2.AuditEvent:
    values: dict[str, object] = {
        "event_id": event_id,
        "time_unix_ms": WHEN_MS,
        "node_id": "dp-1",
        "snapshot_version": "7",
        "workspace": "demo",
        "key_id": "key-1",
        "key_name": "wide",
        "server": "py",
        "method": "tools/call",
        "tool": "echo",
        "status": "ok",
        "http_status": 200,
        "latency_ms": 1.5,
        "request_id": "1",
        "rule": "key scope: server py",
    }
    values.update(fields)
    return audit_pb2.AuditEvent(**values)  # type: ignore[arg-type]


def stored_events(running: Running) -> list[AuditEvent]:
    with running.database.session() as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))


async def test_audit_batch_is_stored_and_acknowledged_by_batch_id(running: Running) -> None:
    batch = audit_pb2.AuditBatch(
        batch_id="b-1", node_id="dp-1", events=[event("e-1"), event("e-2", tool="add")]
    )

    async with ReportClient(running.port) as client:
        ack = await client.report(batch)

    assert (ack.batch_id, ack.stored) == ("b-1", 2)
    rows = stored_events(running)
    assert [(r.event_id, r.tool) for r in rows] == [("e-1", "echo"), ("e-2", "add")]
    assert rows[0].time == datetime(2030, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    assert (rows[0].server, rows[0].status, rows[0].http_status, rows[0].rule) == (
        "py",
        "ok",
        200,
        "key scope: server py",
    )


async def test_replaying_a_batch_stores_nothing_new(running: Running) -> None:
    batch = audit_pb2.AuditBatch(batch_id="b-1", node_id="dp-1", events=[event("e-1"), event("e-2")])

    async with ReportClient(running.port) as client:
        first = await client.report(batch)
        replay = await client.report(batch)
    async with ReportClient(running.port) as client:
        partly_new = await client.report(
            audit_pb2.AuditBatch(batch_id="b-2", events=[event("e-2"), event("e-3"), event("e-3")])
        )

    assert (first.stored, replay.stored, partly_new.stored) == (2, 0, 1)
    assert [r.event_id for r in stored_events(running)] == ["e-1", "e-2", "e-3"]


async def test_invalid_events_are_dropped_without_failing_the_batch(running: Running) -> None:
    batch = audit_pb2.AuditBatch(
        batch_id="b-1",
        events=[event(""), event("x" * 65), event("ok", reason="r" * 5000, time_unix_ms=0)],
    )

    async with ReportClient(running.port) as client:
        ack = await client.report(batch)

    assert ack.stored == 1
    (row,) = stored_events(running)
    assert row.event_id == "ok"
    assert len(row.reason) == 2000
    assert row.time.year >= 2024  # a missing time becomes the ingest time


async def test_text_is_stored_as_sent_except_nul_which_cannot_sink_the_batch(running: Running) -> None:
    awkward = 'tab\there\nnew line \\N back\\slash "quoted", comma \r\x00end'
    batch = audit_pb2.AuditBatch(
        batch_id="b-1",
        events=[event("e-1", reason=awkward, tool="t\\N", teams=["a", "b\tc"]), event("e-2")],
    )

    async with ReportClient(running.port) as client:
        ack = await client.report(batch)

    assert ack.stored == 2
    first, _ = stored_events(running)
    assert first.reason == awkward.replace("\x00", "")
    assert (first.tool, first.teams) == ("t\\N", "a,b\tc")


async def test_large_batches_keep_their_order_and_later_batches_reuse_the_connection(
    running: Running,
) -> None:
    ids = [f"e-{n:04d}" for n in range(600)]

    async with ReportClient(running.port) as client:
        acks = [
            await client.report(audit_pb2.AuditBatch(batch_id=f"b-{i}", events=[event(e) for e in chunk]))
            for i, chunk in enumerate((ids[:300], ids[250:600]))
        ]

    assert [ack.stored for ack in acks] == [300, 300]
    assert [r.event_id for r in stored_events(running)] == ids


async def test_the_virtual_server_a_request_came_through_is_stored_as_via(running: Running) -> None:
    batch = audit_pb2.AuditBatch(
        batch_id="b-1", events=[event("e-1", server="alpha", via="combo"), event("e-2")]
    )

    async with ReportClient(running.port) as client:
        await client.report(batch)

    assert [(r.server, r.via) for r in stored_events(running)] == [("alpha", "combo"), ("py", "")]

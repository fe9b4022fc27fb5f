from __future__ import annotations

import pytest

from data_plane.audit.buffer import AuditBuffer
from data_plane.pipeline.context import Outcome, RequestContext
from data_plane.stages.audit import audit, build_event
from data_plane.stages.authenticate import authenticate
from data_plane.stages.parse import parse
from tests.data_plane.kit import NARROW, KeyPair, bearer, compiled, context


def _parsed(keys: KeyPair, body: bytes) -> RequestContext:
    ctx = parse(context(compiled(keys, version="v7"), body=body, headers=bearer(NARROW)))
    assert isinstance(ctx, RequestContext)
    ctx = authenticate(ctx)
    assert isinstance(ctx, RequestContext)
    return ctx


def test_event_names_principal_server_tool_outcome_and_snapshot(keys: KeyPair) -> None:
    ctx = _parsed(keys, b'{"jsonrpc":"2.0","id":"r1","method":"tools/call","params":{"name":"add"}}')
    event = build_event(ctx, Outcome("denied", 200, -32003, "nope", "key-scope"), "node-1")
    assert (event.key_name, event.key_id, event.workspace, event.server) == (
        "narrow",
        "k-narrow",
        "demo",
        "py",
    )
    assert (event.method, event.tool, event.request_id) == ("tools/call", "add", "r1")
    assert (event.status, event.http_status, event.error_code, event.rule) == (
        "denied",
        200,
        -32003,
        "key-scope",
    )
    assert event.snapshot_version == "v7" and event.node_id == "node-1"
    assert len(event.event_id) == 32 and event.latency_ms >= 0


@pytest.mark.parametrize(
    ("body", "status", "audited"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"ping"}', "ok", True),
        (b'{"jsonrpc":"2.0","method":"notifications/initialized"}', "ok", False),
        (b'{"jsonrpc":"2.0","method":"notifications/initialized"}', "upstream_error", True),
    ],
)
def test_requests_and_failures_are_audited_but_fine_notifications_are_not(
    keys: KeyPair, body: bytes, status: str, audited: bool
) -> None:
    buffer = AuditBuffer(capacity=10, batch_size=5)
    audit(_parsed(keys, body), Outcome(status, 200), buffer, "node-1")
    assert len(buffer) == int(audited)


def test_a_full_buffer_drops_and_counts_without_blocking(keys: KeyPair) -> None:
    buffer = AuditBuffer(capacity=2, batch_size=5)
    ctx = _parsed(keys, b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
    for _ in range(5):
        audit(ctx, Outcome("ok", 200), buffer, "node-1")
    assert len(buffer) == 2
    assert buffer.dropped == 3

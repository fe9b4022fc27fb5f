"""Stage 9, audit: one event per JSON-RPC request, queued without blocking the request.

Runs last and always, also on denial and error (the chain guarantees it). Notifications and
client responses that went through fine are not audited; everything denied or failed is.
"""

from __future__ import annotations

import time
import uuid

from data_plane.audit.buffer import AuditBuffer
from data_plane.pipeline.context import Outcome, RequestContext
from shared.wire.mcpgw.audit.v1 import audit_pb2


def build_event(ctx: RequestContext, outcome: Outcome, node_id: str) -> audit_pb2.AuditEvent:
    """The audit event for one request (never holds a secret)."""
    principal = ctx.principal
    upstream = ctx.upstream
    snapshot = ctx.snapshot
    workspace = (
        principal.workspace if principal is not None else upstream.workspace if upstream is not None else ""
    )
    return audit_pb2.AuditEvent(
        event_id=uuid.uuid4().hex,
        time_unix_ms=int(time.time() * 1000),
        node_id=node_id,
        snapshot_version=snapshot.version if snapshot is not None else "",
        workspace=workspace,
        key_id=principal.key_id if principal is not None else "",
        key_name=principal.name if principal is not None else "",
        server=ctx.slug,
        method=ctx.rpc_method or ctx.http_method,
        tool=ctx.tool,
        status=outcome.status,
        http_status=outcome.http_status,
        error_code=outcome.error_code,
        reason=outcome.reason,
        latency_ms=(time.perf_counter() - ctx.started) * 1000.0,
        request_id="" if ctx.rpc_id is None else str(ctx.rpc_id),
        rule=outcome.rule or ctx.rule,
    )


def should_audit(ctx: RequestContext, outcome: Outcome) -> bool:
    """Requests always; notifications, client responses and GET/DELETE only when not ok."""
    return ctx.is_request or outcome.status != "ok"


def audit(ctx: RequestContext, outcome: Outcome, buffer: AuditBuffer, node_id: str) -> None:
    """Queue the audit event for this request (drops and counts when the buffer is full)."""
    if should_audit(ctx, outcome):
        buffer.put(build_event(ctx, outcome, node_id))

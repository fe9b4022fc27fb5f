"""Stage 10, audit: one event per JSON-RPC request, queued without blocking the request.

Runs last and always, also on denial and error (the chain guarantees it). Notifications and
client responses that went through fine are not audited; everything denied or failed is.
"""

from __future__ import annotations

import time
import uuid

from data_plane.audit.buffer import AuditBuffer
from data_plane.pipeline.context import Outcome, RequestContext
from data_plane.runtime.compiled import CompiledSnapshot, Principal
from data_plane.stages.authorize import caller_of
from shared.wire.mcpgw.audit.v1 import audit_pb2


def build_event(ctx: RequestContext, outcome: Outcome, node_id: str) -> audit_pb2.AuditEvent:
    """The audit event for one request (never holds a secret)."""
    principal = ctx.principal
    upstream = ctx.upstream
    snapshot = ctx.snapshot
    workspace = (
        principal.workspace if principal is not None else upstream.workspace if upstream is not None else ""
    )
    user_id, team_ids, teams = _identity(principal, snapshot)
    return audit_pb2.AuditEvent(
        event_id=uuid.uuid4().hex,
        time_unix_ms=int(time.time() * 1000),
        node_id=node_id,
        snapshot_version=snapshot.version if snapshot is not None else "",
        workspace=workspace,
        key_id=principal.key_id if principal is not None else "",
        key_name=principal.name if principal is not None else "",
        server=outcome.member or ctx.slug,
        method=ctx.rpc_method or ctx.http_method,
        tool=outcome.member_tool or ctx.tool,
        status=outcome.status,
        http_status=outcome.http_status,
        error_code=outcome.error_code,
        reason=outcome.reason,
        latency_ms=(time.perf_counter() - ctx.started) * 1000.0,
        request_id="" if ctx.rpc_id is None else str(ctx.rpc_id),
        rule=outcome.rule or ctx.rule,
        user_id=user_id,
        team_ids=team_ids,
        teams=teams,
        identity_provider=(principal.identity_provider or principal.authenticator) if principal else "",
        via=ctx.slug if ctx.virtual is not None else "",
    )


def _identity(
    principal: Principal | None, snapshot: CompiledSnapshot | None
) -> tuple[str, list[str], list[str]]:
    """The user id, team ids and team slugs of the caller, from the subjects access control
    probes (a key's are precomputed; a token's are resolved with a few dict lookups)."""
    if principal is None or snapshot is None:
        return "", [], []
    user_id = ""
    team_ids: list[str] = []
    for subject in caller_of(principal, snapshot).subjects:
        kind, _, ident = subject.partition(":")
        if kind == "user":
            user_id = ident
        elif kind == "team":
            team_ids.append(ident)
    known = snapshot.access.section.teams
    return user_id, team_ids, [known[t].slug if t in known else t for t in team_ids]


def should_audit(ctx: RequestContext, outcome: Outcome) -> bool:
    """Requests always; notifications, client responses and GET/DELETE only when not ok."""
    return ctx.is_request or outcome.status != "ok"


def audit(ctx: RequestContext, outcome: Outcome, buffer: AuditBuffer, node_id: str) -> None:
    """Queue the audit event for this request (drops and counts when the buffer is full)."""
    if should_audit(ctx, outcome):
        buffer.put(build_event(ctx, outcome, node_id))

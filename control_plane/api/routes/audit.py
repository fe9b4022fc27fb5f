"""``/api/v1/audit-events``: the calls data planes reported, newest first, with cursor pagination.

Organization admins and auditors read every event; workspace admins and auditors read the
events of their workspaces only (events that name no workspace are organization-level).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from control_plane.api.deps import ActorDep, SessionDep
from control_plane.models import AuditEventPublic
from control_plane.repos import audit_query, workspaces
from control_plane.repos.keys import as_utc

router = APIRouter(prefix="/audit-events", tags=["audit"])


class AuditPage(BaseModel):
    items: list[AuditEventPublic]
    next_cursor: str | None = None
    """Pass as ``cursor`` to get the next (older) page; ``null`` on the last page."""


@router.get("", summary="List audit events")
def list_audit_events(
    session: SessionDep,
    actor: ActorDep,
    server: str | None = None,
    key: Annotated[str | None, Query(description="key id")] = None,
    key_name: str | None = None,
    user: Annotated[str | None, Query(description="user id")] = None,
    identity_provider: Annotated[
        str | None, Query(description="identity provider slug, or authn-webhook:<workspace>")
    ] = None,
    via: Annotated[str | None, Query(description="virtual server slug the requests came through")] = None,
    tool: str | None = None,
    status: str | None = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601; exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> AuditPage:
    """Audit events the caller may read matching every given filter, newest first."""
    scope = actor.audit_listing_scope()
    readable = None
    if scope is not None:
        slugs = workspaces.slugs_by_id(session)
        readable = frozenset(slugs[ws] for ws in scope if ws in slugs)
    where = audit_query.AuditFilter(
        server=server,
        key_id=key,
        key_name=key_name,
        user_id=user,
        identity_provider=identity_provider,
        via=via,
        tool=tool,
        status=status,
        since=as_utc(since),
        until=as_utc(until),
        workspaces=readable,
    )
    rows, next_cursor = audit_query.list_events(session, where=where, limit=limit, cursor=cursor)
    return AuditPage(items=[AuditEventPublic.model_validate(r) for r in rows], next_cursor=next_cursor)

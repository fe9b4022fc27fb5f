"""``/api/v1/audit-events``: the calls data planes reported, newest first, with cursor pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from control_plane.api.deps import SessionDep
from control_plane.models import AuditEventPublic
from control_plane.repos import audit_query
from control_plane.repos.keys import as_utc

router = APIRouter(prefix="/audit-events", tags=["audit"])


class AuditPage(BaseModel):
    items: list[AuditEventPublic]
    next_cursor: str | None = None
    """Pass as ``cursor`` to get the next (older) page; ``null`` on the last page."""


@router.get("", summary="List audit events")
def list_audit_events(
    session: SessionDep,
    server: str | None = None,
    key: Annotated[str | None, Query(description="key id")] = None,
    key_name: str | None = None,
    tool: str | None = None,
    status: str | None = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; inclusive")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601; exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> AuditPage:
    """Audit events matching every given filter, newest first."""
    where = audit_query.AuditFilter(
        server=server,
        key_id=key,
        key_name=key_name,
        tool=tool,
        status=status,
        since=as_utc(since),
        until=as_utc(until),
    )
    rows, next_cursor = audit_query.list_events(session, where=where, limit=limit, cursor=cursor)
    return AuditPage(items=[AuditEventPublic.model_validate(r) for r in rows], next_cursor=next_cursor)

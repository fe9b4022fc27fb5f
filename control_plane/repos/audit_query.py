"""Reading stored audit events: filters and keyset pagination, newest first by ``seq``."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from control_plane.models import AuditEvent
from control_plane.repos.errors import Invalid


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Conditions every listed event must meet (``None``: no condition)."""

    server: str | None = None
    key_id: str | None = None
    key_name: str | None = None
    user_id: str | None = None
    identity_provider: str | None = None
    via: str | None = None
    tool: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    workspaces: frozenset[str] | None = None
    """Slugs of the only workspaces whose events may be listed (the caller's audit rights)."""


def encode_cursor(seq: int) -> str:
    """The opaque cursor that continues a listing after the event ``seq``."""
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The ``seq`` inside a cursor; :class:`Invalid` when it was not made by :func:`encode_cursor`."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        seq = int(text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise Invalid("cursor is not one this API returned") from exc
    if seq < 0:
        raise Invalid("cursor is not one this API returned")
    return seq


def list_events(
    session: Session, *, where: AuditFilter, limit: int, cursor: str | None = None
) -> tuple[list[AuditEvent], str | None]:
    """One page of events, newest first, and the cursor of the next page (``None`` at the end)."""
    query = select(AuditEvent)
    if cursor is not None:
        query = query.where(AuditEvent.seq < decode_cursor(cursor))  # type: ignore[operator]
    for column, value in (
        (AuditEvent.server, where.server),
        (AuditEvent.key_id, where.key_id),
        (AuditEvent.key_name, where.key_name),
        (AuditEvent.user_id, where.user_id),
        (AuditEvent.identity_provider, where.identity_provider),
        (AuditEvent.via, where.via),
        (AuditEvent.tool, where.tool),
        (AuditEvent.status, where.status),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.workspaces is not None:
        query = query.where(AuditEvent.workspace.in_(sorted(where.workspaces)))  # type: ignore[attr-defined]
    if where.since is not None:
        query = query.where(AuditEvent.time >= where.since)
    if where.until is not None:
        query = query.where(AuditEvent.time < where.until)
    query = query.order_by(AuditEvent.seq.desc()).limit(limit + 1)  # type: ignore[union-attr]
    rows = list(session.exec(query))
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    last = page[-1].seq
    assert last is not None  # rows read from the table always carry their primary key
    return page, encode_cursor(last)

"""Storing audit events idempotently: an event id already stored is skipped, never an error.

Data planes resend unacknowledged batches after a reconnect and replay their disk spool at
start, so the same event may arrive more than once; ``INSERT ... ON CONFLICT DO NOTHING`` on
the unique ``event_id`` makes every replay harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from control_plane.models import AuditEvent
from control_plane.models.common import utcnow
from shared.wire.mcpgw.audit.v1 import audit_pb2

logger = logging.getLogger(__name__)

_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]
_TEXT_FIELDS = (
    "node_id",
    "snapshot_version",
    "workspace",
    "key_id",
    "key_name",
    "server",
    "method",
    "tool",
    "status",
    "reason",
    "request_id",
    "rule",
    "user_id",
    "identity_provider",
)
_LIST_FIELDS = ("team_ids", "teams")
"""Repeated wire fields, stored comma-joined (ids and slugs never hold a comma)."""
_EVENT_ID_MAX = 64
_SQLITE_INSERT = (
    sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=["event_id"]).returning(_TABLE.c.event_id)
)


def store_events(session: Session, *, events: Sequence[audit_pb2.AuditEvent]) -> int:
    """Store ``events``; returns how many were new (duplicates and invalid events are not counted)."""
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        row = event_row(event)
        if row is not None:
            rows.setdefault(row["event_id"], row)
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # One short, fixed statement whatever the batch size: every column travels as one array
        # parameter and unnest() turns them back into rows, so neither SQLAlchemy nor psycopg
        # re-compiles or re-parses SQL per batch (the multi-VALUES form spent most of its time there).
        columns = {name: [row[name] for row in rows.values()] for name in _COLUMNS}
        return len(session.execute(_UNNEST_INSERT, columns).all())
    if dialect == "sqlite":
        return len(session.execute(_SQLITE_INSERT, list(rows.values())).all())
    raise RuntimeError(f"audit store does not support the {dialect} dialect")


def event_row(event: audit_pb2.AuditEvent) -> dict[str, Any] | None:
    """The column values of one wire event, or ``None`` (logged) when it cannot be stored."""
    event_id = event.event_id.strip()
    if not event_id or len(event_id) > _EVENT_ID_MAX:
        logger.warning("dropping audit event with an invalid event_id (length %d)", len(event_id))
        return None
    row: dict[str, Any] = {
        "event_id": event_id,
        "time": _event_time(event),
        "http_status": event.http_status,
        "error_code": event.error_code,
        "latency_ms": event.latency_ms if event.latency_ms == event.latency_ms else 0.0,  # NaN -> 0
    }
    for name in _TEXT_FIELDS:
        value: str = getattr(event, name)
        row[name] = value[: _MAX_LENGTHS[name]]
    for name in _LIST_FIELDS:
        row[name] = ",".join(getattr(event, name))[: _MAX_LENGTHS[name]]
    return row


def _event_time(event: audit_pb2.AuditEvent) -> datetime:
    """The event's time as a UTC datetime; the ingest time when it is missing or out of range."""
    if event.time_unix_ms > 0:
        try:
            return datetime.fromtimestamp(event.time_unix_ms / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            logger.warning("audit event %s has an out-of-range time; using the ingest time", event.event_id)
    return utcnow()


def _max_length(column: str) -> int | None:
    """The column's declared length (``AutoString`` wraps ``String`` and carries it too)."""
    length = getattr(_TABLE.c[column].type, "length", None)
    return length if isinstance(length, int) else None


_MAX_LENGTHS = {name: _max_length(name) for name in (*_TEXT_FIELDS, *_LIST_FIELDS)}
_COLUMNS = ("event_id", "time", "http_status", "error_code", "latency_ms", *_TEXT_FIELDS, *_LIST_FIELDS)
_PG_TYPES = {
    "time": "timestamptz[]",
    "http_status": "integer[]",
    "error_code": "integer[]",
    "latency_ms": "float8[]",
}
_CASTS = ", ".join(f"CAST(:{c} AS {_PG_TYPES.get(c, 'text[]')})" for c in _COLUMNS)
# Built only from the constant column names above, never from input: not an injection vector.
_UNNEST_INSERT = text(
    f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) SELECT * FROM unnest({_CASTS}) "  # noqa: S608
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)

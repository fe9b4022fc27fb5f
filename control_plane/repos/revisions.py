"""Config revisions: record one in the writing transaction; read the newest."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from control_plane.db import CONFIG_CHANGED
from control_plane.models import ConfigRevision


def record(session: Session, *, reason: str) -> None:
    """Record that this transaction changes what data planes enforce."""
    session.add(ConfigRevision(reason=reason[:200]))
    session.info[CONFIG_CHANGED] = True


def latest(session: Session) -> int:
    """The newest revision id (0 when there is none)."""
    newest = session.exec(select(func.max(ConfigRevision.id))).one()
    return newest or 0

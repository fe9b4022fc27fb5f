"""Data-plane groups and the status row of each data plane (Kong keeps such a row per DP).

Distribution writes the rows (hello, ACK, NACK, disconnect); the admin API lists them.
"""

from __future__ import annotations

from sqlmodel import Session, select

from control_plane.models import DataPlane, DataPlaneGroup
from control_plane.models.common import utcnow

_NACK_REASON_MAX = 4000


def get_group(session: Session, *, name: str) -> DataPlaneGroup | None:
    """The data-plane group called ``name``, or ``None``."""
    return session.exec(select(DataPlaneGroup).where(DataPlaneGroup.name == name)).first()


def list_groups(session: Session) -> list[DataPlaneGroup]:
    """Every data-plane group, by name."""
    return list(session.exec(select(DataPlaneGroup).order_by(DataPlaneGroup.name)))


def find_data_plane(session: Session, *, node_id: str) -> DataPlane | None:
    """The status row of the data plane ``node_id``, or ``None``."""
    return session.exec(select(DataPlane).where(DataPlane.node_id == node_id)).first()


def list_data_planes(session: Session, *, group: str | None = None) -> list[DataPlane]:
    """Every data plane (of one group when ``group`` is given), by group then node id."""
    query = select(DataPlane).order_by(DataPlane.group, DataPlane.node_id)
    if group is not None:
        query = query.where(DataPlane.group == group)
    return list(session.exec(query))


def upsert_data_plane(
    session: Session,
    *,
    node_id: str,
    group: str,
    hostname: str,
    software_version: str,
    applied_version: str,
    applied_hash: str,
) -> DataPlane:
    """Record a data plane that said hello: connected now, running what it reports.

    The last NACK is kept (it is cleared by the next ACK), so a reconnecting data plane stays
    parked on the version it refused.
    """
    row = find_data_plane(session, node_id=node_id)
    if row is None:
        row = DataPlane(node_id=node_id, group=group)
    row.group = group
    row.hostname = hostname[:255]
    row.software_version = software_version[:64]
    row.applied_version = applied_version[:64]
    row.applied_hash = applied_hash[:64]
    row.connected = True
    row.last_seen = utcnow()
    session.add(row)
    session.flush()
    return row


def record_ack(session: Session, *, node_id: str, version: str, hash: str) -> None:
    """The data plane applied ``version``/``hash``; any earlier NACK is cleared."""
    row = find_data_plane(session, node_id=node_id)
    if row is None:
        return
    row.applied_version = version[:64]
    row.applied_hash = hash[:64]
    row.nack_version = ""
    row.nack_reason = ""
    row.nack_at = None
    row.last_seen = utcnow()
    session.add(row)
    session.flush()


def record_nack(session: Session, *, node_id: str, version: str, reason: str) -> None:
    """The data plane refused ``version`` for ``reason`` (it keeps its last good snapshot)."""
    row = find_data_plane(session, node_id=node_id)
    if row is None:
        return
    now = utcnow()
    row.nack_version = version[:64]
    row.nack_reason = reason[:_NACK_REASON_MAX]
    row.nack_at = now
    row.last_seen = now
    session.add(row)
    session.flush()


def mark_disconnected(session: Session, *, node_id: str) -> None:
    """The data plane's stream ended."""
    row = find_data_plane(session, node_id=node_id)
    if row is None:
        return
    row.connected = False
    row.last_seen = utcnow()
    session.add(row)
    session.flush()


def touch(session: Session, *, node_id: str) -> None:
    """Record contact with the data plane now."""
    row = find_data_plane(session, node_id=node_id)
    if row is None:
        return
    row.last_seen = utcnow()
    session.add(row)
    session.flush()

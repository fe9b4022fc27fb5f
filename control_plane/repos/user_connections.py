"""Per-user OAuth connections and the pending authorizations of the connect flow.

Tokens and PKCE verifiers are stored only encrypted (the caller passes ciphertext); a pending
authorization is found by the SHA-256 of its state and deleted when it is consumed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, delete, select

from control_plane.models import OAuthAuthorization, Server, User, UserConnection
from control_plane.models.user_oauth import ConnectionPublic


def aware(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite hands back naive ones)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def save_authorization(session: Session, authorization: OAuthAuthorization, *, now: datetime) -> None:
    """Store a started connect flow, dropping every expired one on the way."""
    session.exec(delete(OAuthAuthorization).where(col(OAuthAuthorization.expires_at) < now))
    session.add(authorization)
    session.flush()


def consume_authorization(session: Session, *, state_hash: str) -> OAuthAuthorization | None:
    """The pending authorization with this state hash, deleted (single use); ``None`` if unknown."""
    row = session.get(OAuthAuthorization, state_hash)
    if row is None:
        return None
    session.delete(row)
    session.flush()
    return row


def find(session: Session, *, user_id: str, server_id: str, lock: bool = False) -> UserConnection | None:
    """The user's connection to the server; ``lock`` holds the row until commit (PostgreSQL)."""
    query = select(UserConnection).where(
        UserConnection.user_id == user_id, UserConnection.server_id == server_id
    )
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def list_for_user(session: Session, *, user_id: str) -> list[ConnectionPublic]:
    """The user's connections, by server slug."""
    rows = session.exec(
        select(UserConnection, Server.slug, User.email)
        .join(Server, col(Server.id) == UserConnection.server_id)
        .join(User, col(User.id) == UserConnection.user_id)
        .where(UserConnection.user_id == user_id)
        .order_by(col(Server.slug))
    ).all()
    return [to_public(row, slug, email) for row, slug, email in rows]


def list_for_server(session: Session, *, server_id: str) -> list[ConnectionPublic]:
    """Every user's connection to the server, by email."""
    rows = session.exec(
        select(UserConnection, Server.slug, User.email)
        .join(Server, col(Server.id) == UserConnection.server_id)
        .join(User, col(User.id) == UserConnection.user_id)
        .where(UserConnection.server_id == server_id)
        .order_by(col(User.email))
    ).all()
    return [to_public(row, slug, email) for row, slug, email in rows]


def to_public(row: UserConnection, server: str, email: str) -> ConnectionPublic:
    """The API form of a connection: status and expiry, never a token."""
    return ConnectionPublic(
        server=server,
        user_id=row.user_id,
        email=email,
        status="connected" if row.status == "connected" else "needs_reconnect",
        scopes=list(row.scopes),
        access_expires_at=aware(row.access_expires_at) if row.access_expires_at else None,
        last_error=row.last_error,
        created_at=aware(row.created_at),
        refreshed_at=aware(row.refreshed_at) if row.refreshed_at else None,
    )

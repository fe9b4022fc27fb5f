"""Admin API tokens: created for a user, stored only as a SHA-256 hash, revocable, expiring.

Like agent keys, admin tokens are 256-bit random strings, so one SHA-256 is the right lookup
hash: the database never holds anything that authenticates by itself.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, select

from control_plane.models import AdminToken, User
from control_plane.models.admin_token import AdminTokenPublic
from control_plane.repos.errors import Invalid, NotFound
from control_plane.repos.keys import as_utc

PREFIX = "mcpgw_admin_"
LAST_USED_PRECISION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, so reads stay reads."""


def hash_token(token: str) -> str:
    """The lookup hash of an admin token (hex SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    session: Session, *, user_id: str, name: str, expires_at: datetime | None, now: datetime
) -> tuple[AdminToken, str]:
    """A new token for ``user_id``; returns the row and the token (shown once, never stored)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id!r} does not exist")
    if user.disabled:
        raise Invalid(f"user {user.email!r} is disabled")
    expires = as_utc(expires_at)
    if expires is not None and expires <= now:
        raise Invalid("expires_at is in the past")
    token = PREFIX + secrets.token_urlsafe(32)
    row = AdminToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(token),
        prefix=token[: len(PREFIX) + 4],
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    return row, token


def find_by_token(session: Session, *, token: str) -> AdminToken | None:
    """The token row whose hash matches ``token``, or ``None``."""
    return session.exec(select(AdminToken).where(AdminToken.token_hash == hash_token(token))).first()


def get(session: Session, *, token_id: str) -> AdminToken:
    """The token with ``token_id``; :class:`NotFound` when there is none."""
    row = session.get(AdminToken, token_id)
    if row is None:
        raise NotFound(f"admin token {token_id!r} does not exist")
    return row


def list_all(session: Session, *, user_id: str | None, include_revoked: bool = False) -> list[AdminToken]:
    """Tokens, newest first: of one user, or of everyone when ``user_id`` is ``None``."""
    query = select(AdminToken).order_by(AdminToken.created_at.desc(), AdminToken.id)  # type: ignore[attr-defined]
    if user_id is not None:
        query = query.where(AdminToken.user_id == user_id)
    if not include_revoked:
        query = query.where(AdminToken.revoked_at == None)  # noqa: E711  (SQL IS NULL)
    return list(session.exec(query))


def revoke(session: Session, *, row: AdminToken, now: datetime) -> AdminToken:
    """Revoke a token (idempotent: the first revocation time stays)."""
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.flush()
    return row


def refusal(row: AdminToken, *, now: datetime) -> str | None:
    """Why the token no longer authenticates, or ``None`` while it is valid."""
    if row.revoked_at is not None:
        return "admin token revoked"
    expires = as_utc(row.expires_at)
    if expires is not None and expires <= now:
        return "admin token expired"
    return None


def touch(session: Session, *, row: AdminToken, now: datetime) -> None:
    """Record a use, unless one was recorded less than :data:`LAST_USED_PRECISION` ago."""
    last = as_utc(row.last_used_at)
    if last is None or now - last >= LAST_USED_PRECISION:
        row.last_used_at = now
        session.add(row)
        session.flush()


def to_public(row: AdminToken) -> AdminTokenPublic:
    """The API form (never the hash)."""
    return AdminTokenPublic(
        id=row.id,
        name=row.name,
        user_id=row.user_id,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )

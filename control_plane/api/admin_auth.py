"""Who is calling the admin API: the bootstrap token, an admin API token, or an IdP login.

The bearer token decides the path: the bootstrap token (``MCPGW_ADMIN_TOKEN``, compared in
constant time) is an organization admin; a JWT is an IdP login (:mod:`control_plane.api.idp_login`);
anything else is looked up as an admin API token by its SHA-256. A token or login acts as its
user: the user's organization role and workspace memberships, read fresh on every request, so
a role change or a disabled user takes effect at once.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlmodel import Session, select

from control_plane.api.actor import BOOTSTRAP_ADMIN, Actor
from control_plane.api.idp_login import LoginRefused, SigningKeys, login
from control_plane.db import Database
from control_plane.models import User, WorkspaceMember
from control_plane.repos import admin_tokens
from control_plane.settings import ControlPlaneSettings
from shared.oidc import peek


class Unauthenticated(Exception):
    """The bearer token authenticates nobody; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def actor_for(session: Session, user: User, *, via: str) -> Actor:
    """The :class:`Actor` of ``user``: organization role and workspace memberships."""
    memberships = session.exec(select(WorkspaceMember).where(WorkspaceMember.user_id == user.id)).all()
    return Actor(
        label=f"user {user.email}",
        user_id=user.id,
        org_role=user.org_role,
        workspace_roles={m.workspace_id: m.role for m in memberships},
        via=via,
    )


def authenticate(
    token: str, *, db: Database, settings: ControlPlaneSettings, keys: SigningKeys, now: datetime
) -> Actor:
    """The caller ``token`` authenticates (raises :class:`Unauthenticated`)."""
    bootstrap = settings.admin_token
    if bootstrap and hmac.compare_digest(token.encode(), bootstrap.encode()):
        return BOOTSTRAP_ADMIN
    peeked = peek(token)
    if peeked is not None:
        try:
            found = login(db, peeked, token, keys=keys, audience=settings.public_url, now=now.timestamp())
        except LoginRefused as exc:
            raise Unauthenticated(exc.reason) from exc
        with db.session() as session:
            return actor_for(session, found.user, via=f"identity provider {found.provider_slug}")
    with db.transaction() as session:
        row = admin_tokens.find_by_token(session, token=token)
        if row is None:
            raise Unauthenticated("invalid admin token")
        refusal = admin_tokens.refusal(row, now=now)
        if refusal is not None:
            raise Unauthenticated(refusal)
        user = session.get(User, row.user_id)
        if user is None or user.disabled:
            raise Unauthenticated(f"the admin token's user is disabled: {user.email if user else 'gone'}")
        admin_tokens.touch(session, row=row, now=now)
        return actor_for(session, user, via=f"admin token {row.name}")

"""``/api/v1/admin-tokens`` and ``/api/v1/me``: admin API tokens, and who the caller is.

Anyone authenticated may create, list and revoke tokens for themself; an organization admin
may do so for any user; anyone else touching another user's token gets 403. The bootstrap
token is no user: it must name ``user_id``.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlmodel import select

from control_plane.api.actor import Actor, forbidden
from control_plane.api.deps import ActorDep, SessionDep
from control_plane.models import User, Workspace
from control_plane.models.admin_token import AdminTokenCreate, AdminTokenCreated, AdminTokenPublic
from control_plane.models.common import utcnow
from control_plane.repos import admin_tokens
from control_plane.repos.errors import Invalid

router = APIRouter(tags=["admin tokens"])


class MeUser(BaseModel):
    id: str
    email: str
    name: str


class Me(BaseModel):
    """The authenticated caller of the admin API."""

    user: MeUser | None = Field(description="null for the bootstrap admin token")
    authenticated_by: str = Field(
        description="the bootstrap admin token, admin token <name>, or identity provider <slug>"
    )
    org_role: str = Field(description="admin | auditor | none")
    workspaces: dict[str, str] = Field(description="workspace slug -> role (admin | member | auditor)")


def _target_user(actor: Actor, user_id: str | None) -> str:
    """Whose token a request names: the caller's own unless an org admin names someone."""
    if user_id is None or user_id == actor.user_id:
        if actor.user_id is None:
            raise Invalid("the bootstrap admin token is no user: name the token's user_id")
        return actor.user_id
    actor.require_org_admin()
    return user_id


@router.post("/admin-tokens", status_code=status.HTTP_201_CREATED, summary="Create an admin API token")
def create_admin_token(session: SessionDep, actor: ActorDep, body: AdminTokenCreate) -> AdminTokenCreated:
    """A token that acts as its user (the caller, or any user for an organization admin).

    The response carries the token; it is stored only as a hash and never shown again.
    """
    user_id = _target_user(actor, body.user_id)
    row, token = admin_tokens.create(
        session, user_id=user_id, name=body.name, expires_at=body.expires_at, now=utcnow()
    )
    return AdminTokenCreated(**admin_tokens.to_public(row).model_dump(), token=token)


@router.get("/admin-tokens", summary="List admin API tokens")
def list_admin_tokens(
    session: SessionDep, actor: ActorDep, user_id: str | None = None, include_revoked: bool = False
) -> list[AdminTokenPublic]:
    """The caller's own tokens; an organization admin sees everyone's (or one user's with ``user_id``)."""
    owner = user_id if actor.is_org_admin else _target_user(actor, user_id)
    rows = admin_tokens.list_all(session, user_id=owner, include_revoked=include_revoked)
    return [admin_tokens.to_public(r) for r in rows]


@router.post("/admin-tokens/{token_id}/revoke", summary="Revoke an admin API token")
def revoke_admin_token(session: SessionDep, actor: ActorDep, token_id: str) -> AdminTokenPublic:
    """Revoke a token at once (idempotent); the caller's own, or any for an organization admin."""
    row = admin_tokens.get(session, token_id=token_id)
    if not actor.is_org_admin and row.user_id != actor.user_id:
        raise forbidden(f"{actor.label} may revoke only its own admin tokens")
    return admin_tokens.to_public(admin_tokens.revoke(session, row=row, now=utcnow()))


@router.get("/me", summary="Who the caller is")
def me(session: SessionDep, actor: ActorDep) -> Me:
    """The caller's user, organization role and workspace memberships."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    ids = list(actor.workspace_roles)
    slugs = dict(session.exec(select(Workspace.id, Workspace.slug).where(Workspace.id.in_(ids))).all())  # type: ignore[attr-defined]
    return Me(
        user=MeUser(id=user.id, email=user.email, name=user.name) if user else None,
        authenticated_by=actor.via,
        org_role=actor.org_role,
        workspaces={slugs[ws]: role for ws, role in actor.workspace_roles.items() if ws in slugs},
    )

"""``/api/v1/keys``: agent API keys; the secret is shown once, at creation.

Every route needs the admin of the key's workspace (or an organization admin); the listing shows
only the keys of workspaces the caller administers.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import Session

from control_plane.api.actor import Actor
from control_plane.api.deps import ActorDep, SessionDep
from control_plane.models import AgentKey, AgentKeyCreate, AgentKeyCreated, AgentKeyPublic, AgentKeyUpdate
from control_plane.repos import keys, workspaces

router = APIRouter(prefix="/keys", tags=["keys"])


def _public(session: Session, key: AgentKey) -> AgentKeyPublic:
    return keys.to_public(key, workspace=workspaces.slugs_by_id(session)[key.workspace_id])


def _managed(session: Session, actor: Actor, key_id: str) -> AgentKey:
    """The key ``key_id`` (404), if the caller administers its workspace (403 otherwise)."""
    key = keys.get(session, key_id=key_id)
    actor.require_workspace_admin(key.workspace_id, workspaces.slugs_by_id(session)[key.workspace_id])
    return key


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an agent key")
def create_key(session: SessionDep, actor: ActorDep, body: AgentKeyCreate) -> AgentKeyCreated:
    """Create a key scoped to servers (every tool) and/or tools of its workspace's servers.

    The response carries the secret; it is stored only as a hash and never shown again.
    """
    workspace = workspaces.get(session, slug=body.workspace)
    actor.require_workspace_admin(workspace.id, workspace.slug)
    key, secret = keys.create(session, data=body)
    return AgentKeyCreated(**_public(session, key).model_dump(), secret=secret)


@router.get("", summary="List agent keys")
def list_keys(
    session: SessionDep, actor: ActorDep, workspace: str | None = None, include_revoked: bool = False
) -> list[AgentKeyPublic]:
    """Keys of the workspaces the caller administers, newest first; revoked keys only with ``include_revoked``."""
    scope = actor.admin_listing_scope()
    slugs = workspaces.slugs_by_id(session)
    found = keys.list_all(session, workspace=workspace, include_revoked=include_revoked)
    return [
        keys.to_public(k, workspace=slugs[k.workspace_id])
        for k in found
        if scope is None or k.workspace_id in scope
    ]


@router.get("/{key_id}", summary="Get an agent key")
def get_key(session: SessionDep, actor: ActorDep, key_id: str) -> AgentKeyPublic:
    """One key by id (never its secret)."""
    return _public(session, _managed(session, actor, key_id))


@router.patch("/{key_id}", summary="Change a key's scope or expiry")
def update_key(session: SessionDep, actor: ActorDep, key_id: str, body: AgentKeyUpdate) -> AgentKeyPublic:
    """Replace the scope lists given, and set or clear (``null``) the expiry."""
    _managed(session, actor, key_id)
    key, _ = keys.update(session, key_id=key_id, data=body)
    return _public(session, key)


@router.post("/{key_id}/revoke", summary="Revoke an agent key")
def revoke_key(session: SessionDep, actor: ActorDep, key_id: str) -> AgentKeyPublic:
    """Revoke a key everywhere (idempotent); data planes refuse it once the new snapshot lands."""
    _managed(session, actor, key_id)
    return _public(session, keys.revoke(session, key_id=key_id))


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an agent key")
def delete_key(session: SessionDep, actor: ActorDep, key_id: str) -> None:
    """Delete a key for good."""
    _managed(session, actor, key_id)
    keys.delete(session, key_id=key_id)

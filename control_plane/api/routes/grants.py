"""``/api/v1/grants``: access grants, managed by the admins of the server's workspace."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from sqlmodel import Session

from control_plane.api.actor import Actor
from control_plane.api.deps import ActorDep, SessionDep
from control_plane.api.scoping import administered_workspace
from control_plane.models import Grant, Workspace
from control_plane.models.grant import GrantCreate, GrantPublic, GrantUpdate
from control_plane.repos import grants

router = APIRouter(prefix="/grants", tags=["grants"])


def _require_admin(session: Session, actor: Actor, workspace_id: str) -> None:
    workspace = session.get(Workspace, workspace_id)
    actor.require_workspace_admin(workspace_id, workspace.slug if workspace is not None else "")


def _administered_grant(session: Session, actor: Actor, grant_id: str) -> Grant:
    grant = grants.get(session, grant_id=grant_id)
    _require_admin(session, actor, grant.workspace_id)
    return grant


def _one(session: Session, grant: Grant) -> GrantPublic:
    return grants.to_public(session, [grant])[0]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a grant")
def create_grant(session: SessionDep, actor: ActorDep, body: GrantCreate) -> GrantPublic:
    """Let a subject (agent key, user, team, workspace, identity provider) use a server, or some
    of its tools, prompts and resources (``effect: deny`` forbids them instead).

    Only admins of the server's workspace may; the subject must exist.
    """
    server = grants.server_named(session, body.server)
    _require_admin(session, actor, server.workspace_id)
    return _one(session, grants.create(session, data=body))


@router.get("", summary="List grants")
def list_grants(
    session: SessionDep,
    actor: ActorDep,
    workspace: str | None = None,
    server: str | None = None,
    subject: str | None = Query(
        default=None,
        description="kind:id-or-name, e.g. team:finance or user:alice@example.com",
        pattern=r"^(agent|user|team|workspace|provider):.+$",
    ),
) -> list[GrantPublic]:
    """Grants of the workspaces the caller administers, filtered by workspace, server, subject."""
    scope = actor.admin_listing_scope()
    if workspace is not None:
        scope = frozenset({administered_workspace(session, actor, workspace).id})
    server_id = None
    if server is not None:
        found = grants.server_named(session, server)
        _require_admin(session, actor, found.workspace_id)
        server_id = found.id
    kind, _, ref = subject.partition(":") if subject is not None else ("", "", "")
    rows = grants.list_all(session, workspace_ids=scope, server_id=server_id, subject_kind=kind or None)
    public = grants.to_public(session, rows)
    if ref:
        public = [g for g in public if ref in (g.subject.id, g.subject.name)]
    return public


@router.get("/{grant_id}", summary="Get a grant")
def get_grant(session: SessionDep, actor: ActorDep, grant_id: str) -> GrantPublic:
    """One grant by id."""
    return _one(session, _administered_grant(session, actor, grant_id))


@router.patch("/{grant_id}", summary="Update a grant")
def update_grant(session: SessionDep, actor: ActorDep, grant_id: str, body: GrantUpdate) -> GrantPublic:
    """Replace the fields given (selections, annotations, conditions, effect, name); server and
    subject are fixed."""
    _administered_grant(session, actor, grant_id)
    grant, _ = grants.update(session, grant_id=grant_id, data=body)
    return _one(session, grant)


@router.delete("/{grant_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a grant")
def delete_grant(session: SessionDep, actor: ActorDep, grant_id: str) -> None:
    """Delete a grant; the data planes stop applying it with the next snapshot."""
    _administered_grant(session, actor, grant_id)
    grants.delete(session, grant_id=grant_id)

"""``/api/v1/workspaces``: the unit that owns servers and keys.

Creating and deleting workspaces is for organization admins; a workspace's admins and auditors
(and organization auditors) may read it.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from control_plane.api.actor import forbidden
from control_plane.api.deps import ActorDep, SessionDep
from control_plane.models import WorkspaceCreate, WorkspacePublic
from control_plane.repos import workspaces

router = APIRouter(prefix="/workspaces", tags=["workspaces"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a workspace")
def create_workspace(session: SessionDep, actor: ActorDep, body: WorkspaceCreate) -> WorkspacePublic:
    """Create a workspace; its slug must be unused (organization admins)."""
    actor.require_org_admin()
    return WorkspacePublic.model_validate(workspaces.create(session, data=body))


@router.get("", summary="List workspaces")
def list_workspaces(session: SessionDep, actor: ActorDep) -> list[WorkspacePublic]:
    """The workspaces the caller administers or audits, by slug."""
    scope = actor.audit_listing_scope()
    return [
        WorkspacePublic.model_validate(w)
        for w in workspaces.list_all(session)
        if scope is None or w.id in scope
    ]


@router.get("/{slug}", summary="Get a workspace")
def get_workspace(session: SessionDep, actor: ActorDep, slug: str) -> WorkspacePublic:
    """One workspace by slug (its admins and auditors)."""
    workspace = workspaces.get(session, slug=slug)
    if not actor.reads_audit_of(workspace.id):
        raise forbidden(f"{actor.label} is neither an admin nor an auditor of workspace '{slug}'")
    return WorkspacePublic.model_validate(workspace)


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an empty workspace")
def delete_workspace(session: SessionDep, actor: ActorDep, slug: str) -> None:
    """Delete a workspace; refused (409) while it still owns servers or keys (organization admins)."""
    actor.require_org_admin()
    workspaces.delete(session, slug=slug)

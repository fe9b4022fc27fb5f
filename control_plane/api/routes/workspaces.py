"""``/api/v1/workspaces``: the unit that owns servers and keys."""

from __future__ import annotations

from fastapi import APIRouter, status

from control_plane.api.deps import SessionDep
from control_plane.models import WorkspaceCreate, WorkspacePublic
from control_plane.repos import workspaces

router = APIRouter(prefix="/workspaces", tags=["workspaces"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a workspace")
def create_workspace(session: SessionDep, body: WorkspaceCreate) -> WorkspacePublic:
    """Create a workspace; its slug must be unused."""
    return WorkspacePublic.model_validate(workspaces.create(session, data=body))


@router.get("", summary="List workspaces")
def list_workspaces(session: SessionDep) -> list[WorkspacePublic]:
    """Every workspace, by slug."""
    return [WorkspacePublic.model_validate(w) for w in workspaces.list_all(session)]


@router.get("/{slug}", summary="Get a workspace")
def get_workspace(session: SessionDep, slug: str) -> WorkspacePublic:
    """One workspace by slug."""
    return WorkspacePublic.model_validate(workspaces.get(session, slug=slug))


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an empty workspace")
def delete_workspace(session: SessionDep, slug: str) -> None:
    """Delete a workspace; refused (409) while it still owns servers or keys."""
    workspaces.delete(session, slug=slug)

"""``/api/v1/workspaces/{slug}/members``: who belongs to a workspace, and in which role."""

from __future__ import annotations

from fastapi import APIRouter, status

from control_plane.api.deps import ActorDep, SessionDep
from control_plane.api.scoping import administered_workspace
from control_plane.models.user import MemberCreate, MemberPublic, MemberUpdate
from control_plane.repos import members

router = APIRouter(prefix="/workspaces/{slug}/members", tags=["members"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a member to a workspace")
def add_member(session: SessionDep, actor: ActorDep, slug: str, body: MemberCreate) -> MemberPublic:
    """Add an existing user (by id or email) as admin, member or auditor."""
    workspace = administered_workspace(session, actor, slug)
    member, user = members.add(session, workspace=workspace, user_ref=body.user, role=body.role)
    return members.to_public(member, user, workspace=workspace.slug)


@router.get("", summary="List a workspace's members")
def list_members(session: SessionDep, actor: ActorDep, slug: str) -> list[MemberPublic]:
    """The workspace's members, by email."""
    workspace = administered_workspace(session, actor, slug)
    return [
        members.to_public(m, u, workspace=workspace.slug)
        for m, u in members.list_for(session, workspace=workspace)
    ]


@router.patch("/{user}", summary="Change a member's role")
def change_member_role(
    session: SessionDep, actor: ActorDep, slug: str, user: str, body: MemberUpdate
) -> MemberPublic:
    """Set the role (admin, member, auditor) of a member given by user id or email."""
    workspace = administered_workspace(session, actor, slug)
    member, found, _ = members.set_role(session, workspace=workspace, user_ref=user, role=body.role)
    return members.to_public(member, found, workspace=workspace.slug)


@router.delete("/{user}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a member")
def remove_member(session: SessionDep, actor: ActorDep, slug: str, user: str) -> None:
    """Remove a member from the workspace and its teams; the keys they own there are revoked."""
    workspace = administered_workspace(session, actor, slug)
    members.remove(session, workspace=workspace, user_ref=user)

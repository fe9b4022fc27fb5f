"""Workspace memberships: a user's role (admin, member, auditor) in a workspace.

Being a member puts the user's callers in the workspace (grants to ``workspace:<slug>`` apply
to them), so adding and removing members records a config revision. The role only concerns
the admin API, so changing it does not.
"""

from __future__ import annotations

from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from control_plane.models import AgentKey, Team, TeamMember, User, Workspace, WorkspaceMember
from control_plane.models.common import utcnow
from control_plane.models.user import MemberPublic, WorkspaceRole
from control_plane.repos import revisions, users
from control_plane.repos.errors import Conflict, NotFound


def find(session: Session, *, workspace_id: str, user_id: str) -> WorkspaceMember | None:
    """The membership of a user in a workspace, or ``None``."""
    return session.get(WorkspaceMember, (workspace_id, user_id))


def is_member(session: Session, *, workspace_id: str, user_id: str) -> bool:
    """Whether the user belongs to the workspace (in any role)."""
    return find(session, workspace_id=workspace_id, user_id=user_id) is not None


def add(
    session: Session,
    *,
    workspace: Workspace,
    user_ref: str,
    role: WorkspaceRole,
    record_revision: bool = True,
) -> tuple[WorkspaceMember, User]:
    """Make a user (id or email) a member; an existing membership is a :class:`Conflict`."""
    user = users.get(session, ref=user_ref)
    if is_member(session, workspace_id=workspace.id, user_id=user.id):
        raise Conflict(f"user {user.email!r} is already a member of workspace {workspace.slug!r}")
    member = WorkspaceMember(workspace_id=workspace.id, user_id=user.id, role=role)
    session.add(member)
    if record_revision:
        revisions.record(session, reason=f"user {user.email} joined workspace {workspace.slug}")
    session.flush()
    return member, user


def get(session: Session, *, workspace: Workspace, user_ref: str) -> tuple[WorkspaceMember, User]:
    """The membership of a user (id or email); :class:`NotFound` when they are not a member."""
    user = users.get(session, ref=user_ref)
    member = find(session, workspace_id=workspace.id, user_id=user.id)
    if member is None:
        raise NotFound(f"user {user.email!r} is not a member of workspace {workspace.slug!r}")
    return member, user


def list_for(session: Session, *, workspace: Workspace) -> list[tuple[WorkspaceMember, User]]:
    """The workspace's members with their users, by email."""
    query = (
        select(WorkspaceMember, User)
        .join(User, col(User.id) == col(WorkspaceMember.user_id))
        .where(WorkspaceMember.workspace_id == workspace.id)
        .order_by(User.email)
    )
    return [(member, user) for member, user in session.exec(query)]


def set_role(
    session: Session, *, workspace: Workspace, user_ref: str, role: WorkspaceRole
) -> tuple[WorkspaceMember, User, bool]:
    """Change a member's role; returns whether it changed (no revision: roles are admin-API only)."""
    member, user = get(session, workspace=workspace, user_ref=user_ref)
    if member.role == role:
        return member, user, False
    member.role = role
    session.add(member)
    session.flush()
    return member, user, True


def remove(session: Session, *, workspace: Workspace, user_ref: str) -> None:
    """Remove a member from the workspace and its teams, and revoke the keys they own there.

    A user-owned key counts in its workspace's grants whoever owns it, so a removed member's
    keys there are revoked rather than left working.
    """
    member, user = get(session, workspace=workspace, user_ref=user_ref)
    team_ids = select(Team.id).where(Team.workspace_id == workspace.id)
    session.exec(
        sql_delete(TeamMember).where(
            col(TeamMember.user_id) == user.id, col(TeamMember.team_id).in_(team_ids)
        )
    )
    owned = session.exec(
        select(AgentKey).where(
            AgentKey.workspace_id == workspace.id,
            AgentKey.owner_user_id == user.id,
            AgentKey.revoked_at == None,  # noqa: E711  (SQL IS NULL)
        )
    )
    now = utcnow()
    for key in owned:
        key.revoked_at = now
        session.add(key)
    session.delete(member)
    revisions.record(session, reason=f"user {user.email} left workspace {workspace.slug}")
    session.flush()


def to_public(member: WorkspaceMember, user: User, *, workspace: str) -> MemberPublic:
    """The API form of a membership."""
    return MemberPublic.model_validate(
        {
            "workspace": workspace,
            "user_id": user.id,
            "email": user.email,
            "name": user.name,
            "role": member.role,
            "created_at": member.created_at,
        }
    )

"""``/api/v1/teams``: teams of a workspace, managed by that workspace's admins."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import Session

from control_plane.api.actor import Actor
from control_plane.api.deps import ActorDep, SessionDep
from control_plane.api.scoping import administered_workspace
from control_plane.models import Team, User
from control_plane.models.team import TeamCreate, TeamMemberCreate, TeamMemberPublic, TeamPublic, TeamUpdate
from control_plane.repos import teams, workspaces

router = APIRouter(prefix="/teams", tags=["teams"])


def _administered_team(session: Session, actor: Actor, team_id: str) -> tuple[Team, str]:
    team = teams.get(session, team_id=team_id)
    workspace = teams.workspace_of(session, team)
    actor.require_workspace_admin(workspace.id, workspace.slug)
    return team, workspace.slug


def _member(user: User) -> TeamMemberPublic:
    return TeamMemberPublic(user_id=user.id, email=user.email, name=user.name)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a team")
def create_team(session: SessionDep, actor: ActorDep, body: TeamCreate) -> TeamPublic:
    """Create a team in a workspace; members holding one of ``claim_values`` (IdP groups or
    roles) belong to it without being listed."""
    workspace = administered_workspace(session, actor, body.workspace)
    return teams.to_public(teams.create(session, data=body), workspace=workspace.slug)


@router.get("", summary="List teams")
def list_teams(session: SessionDep, actor: ActorDep, workspace: str | None = None) -> list[TeamPublic]:
    """Teams of the workspaces the caller administers (of ``workspace`` only when given)."""
    scope = actor.admin_listing_scope()
    if workspace is not None:
        scope = frozenset({administered_workspace(session, actor, workspace).id})
    slugs = workspaces.slugs_by_id(session)
    return [
        teams.to_public(t, workspace=slugs[t.workspace_id])
        for t in teams.list_all(session, workspace_ids=scope)
    ]


@router.get("/{team_id}", summary="Get a team")
def get_team(session: SessionDep, actor: ActorDep, team_id: str) -> TeamPublic:
    """One team by id."""
    team, slug = _administered_team(session, actor, team_id)
    return teams.to_public(team, workspace=slug)


@router.patch("/{team_id}", summary="Update a team")
def update_team(session: SessionDep, actor: ActorDep, team_id: str, body: TeamUpdate) -> TeamPublic:
    """Change the slug, name or claim values; absent fields stay as they are."""
    _, slug = _administered_team(session, actor, team_id)
    team, _ = teams.update(session, team_id=team_id, data=body)
    return teams.to_public(team, workspace=slug)


@router.delete("/{team_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a team")
def delete_team(session: SessionDep, actor: ActorDep, team_id: str) -> None:
    """Delete a team, its memberships and the grants to it."""
    _administered_team(session, actor, team_id)
    teams.delete(session, team_id=team_id)


@router.get("/{team_id}/members", summary="List a team's members")
def list_team_members(session: SessionDep, actor: ActorDep, team_id: str) -> list[TeamMemberPublic]:
    """The explicit members of a team (claim-based members are known only from their tokens)."""
    team, _ = _administered_team(session, actor, team_id)
    return [_member(u) for u in teams.member_users(session, team=team)]


@router.post("/{team_id}/members", status_code=status.HTTP_201_CREATED, summary="Add a member to a team")
def add_team_member(
    session: SessionDep, actor: ActorDep, team_id: str, body: TeamMemberCreate
) -> TeamMemberPublic:
    """Add a user (id or email) who is a member of the team's workspace."""
    team, _ = _administered_team(session, actor, team_id)
    return _member(teams.add_member(session, team=team, user_ref=body.user))


@router.delete(
    "/{team_id}/members/{user}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a team member"
)
def remove_team_member(session: SessionDep, actor: ActorDep, team_id: str, user: str) -> None:
    """Remove a user (id or email) from the team."""
    team, _ = _administered_team(session, actor, team_id)
    teams.remove_member(session, team=team, user_ref=user)

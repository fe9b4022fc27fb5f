"""Teams of a workspace: explicit members (who must be workspace members) and IdP claim values.

Slugs, claim values and members reach the data planes (they decide which team grants apply),
so changing them records a config revision; the display name does not.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from control_plane.models import Team, TeamMember, User, Workspace
from control_plane.models.team import TeamCreate, TeamPublic, TeamUpdate
from control_plane.repos import access_refs, members, revisions, users, workspaces
from control_plane.repos.errors import Conflict, Invalid, NotFound


def find(session: Session, *, workspace_id: str, slug: str) -> Team | None:
    """The team ``slug`` of a workspace, or ``None``."""
    return session.exec(select(Team).where(Team.workspace_id == workspace_id, Team.slug == slug)).first()


def get(session: Session, *, team_id: str) -> Team:
    """The team with ``team_id``; :class:`NotFound` when there is none."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id!r} does not exist")
    return team


def resolve(session: Session, *, workspace_id: str, ref: str) -> Team:
    """The team of a workspace whose id or slug is ``ref``; :class:`NotFound` otherwise."""
    team = session.get(Team, ref)
    if team is not None and team.workspace_id == workspace_id:
        return team
    team = find(session, workspace_id=workspace_id, slug=ref)
    if team is None:
        raise NotFound(f"the workspace has no team {ref!r}")
    return team


def create(session: Session, *, data: TeamCreate, record_revision: bool = True) -> Team:
    """Create a team; a slug taken in the workspace is a :class:`Conflict`."""
    workspace = workspaces.get(session, slug=data.workspace)
    if find(session, workspace_id=workspace.id, slug=data.slug) is not None:
        raise Conflict(f"workspace {data.workspace!r} already has a team {data.slug!r}")
    team = Team(
        workspace_id=workspace.id,
        slug=data.slug,
        name=data.name,
        claim_values=list(dict.fromkeys(data.claim_values)),
    )
    session.add(team)
    if record_revision:
        revisions.record(session, reason=f"team {data.workspace}/{data.slug} created")
    session.flush()
    return team


def list_all(session: Session, *, workspace_ids: Collection[str] | None = None) -> list[Team]:
    """Teams (of ``workspace_ids`` when given), by workspace and slug."""
    query = select(Team).order_by(Team.workspace_id, Team.slug)
    if workspace_ids is not None:
        query = query.where(col(Team.workspace_id).in_(list(workspace_ids)))
    return list(session.exec(query))


def update(
    session: Session, *, team_id: str, data: TeamUpdate, record_revision: bool = True
) -> tuple[Team, bool]:
    """Apply the fields set in ``data``; returns the team and whether anything changed."""
    team = get(session, team_id=team_id)
    fields = data.model_dump(exclude_unset=True, exclude_none=True)
    if "claim_values" in fields:
        fields["claim_values"] = list(dict.fromkeys(fields["claim_values"]))
    slug = fields.get("slug", team.slug)
    if slug != team.slug and find(session, workspace_id=team.workspace_id, slug=slug) is not None:
        raise Conflict(f"the workspace already has a team {slug!r}")
    changed = {name for name, value in fields.items() if getattr(team, name) != value}
    for name in changed:
        setattr(team, name, fields[name])
    if changed:
        session.add(team)
        if record_revision and changed - {"name"}:
            revisions.record(session, reason=f"team {team.id} updated")
        session.flush()
    return team, bool(changed)


def delete(session: Session, *, team_id: str) -> None:
    """Delete a team with its memberships and the grants to it."""
    team = get(session, team_id=team_id)
    access_refs.forget_subject(session, kind="team", subject_id=team.id)
    session.exec(sql_delete(TeamMember).where(col(TeamMember.team_id) == team.id))
    session.delete(team)
    revisions.record(session, reason=f"team {team.id} deleted")
    session.flush()


def member_users(session: Session, *, team: Team) -> list[User]:
    """The explicit members of a team, by email."""
    query = (
        select(User)
        .join(TeamMember, col(TeamMember.user_id) == col(User.id))
        .where(TeamMember.team_id == team.id)
        .order_by(User.email)
    )
    return list(session.exec(query))


def _member_of_workspace(session: Session, *, team: Team, user_ref: str) -> User:
    user = users.get(session, ref=user_ref)
    if not members.is_member(session, workspace_id=team.workspace_id, user_id=user.id):
        raise Invalid(f"user {user.email!r} is not a member of the team's workspace; add them there first")
    return user


def add_member(session: Session, *, team: Team, user_ref: str, record_revision: bool = True) -> User:
    """Add a workspace member (id or email) to a team; already a member is a :class:`Conflict`."""
    user = _member_of_workspace(session, team=team, user_ref=user_ref)
    if session.get(TeamMember, (team.id, user.id)) is not None:
        raise Conflict(f"user {user.email!r} is already in team {team.slug!r}")
    session.add(TeamMember(team_id=team.id, user_id=user.id))
    if record_revision:
        revisions.record(session, reason=f"user {user.email} joined team {team.id}")
    session.flush()
    return user


def remove_member(session: Session, *, team: Team, user_ref: str) -> None:
    """Remove a user (id or email) from a team; not in it is :class:`NotFound`."""
    user = users.get(session, ref=user_ref)
    row = session.get(TeamMember, (team.id, user.id))
    if row is None:
        raise NotFound(f"user {user.email!r} is not in team {team.slug!r}")
    session.delete(row)
    revisions.record(session, reason=f"user {user.email} left team {team.id}")
    session.flush()


def set_members(session: Session, *, team: Team, user_refs: Sequence[str]) -> bool:
    """Make the team's explicit members exactly ``user_refs``; returns whether that changed anything."""
    wanted = {_member_of_workspace(session, team=team, user_ref=ref).id for ref in user_refs}
    current = set(session.exec(select(TeamMember.user_id).where(TeamMember.team_id == team.id)))
    for user_id in wanted - current:
        session.add(TeamMember(team_id=team.id, user_id=user_id))
    if current - wanted:
        session.exec(
            sql_delete(TeamMember).where(
                col(TeamMember.team_id) == team.id, col(TeamMember.user_id).in_(current - wanted)
            )
        )
    session.flush()
    return wanted != current


def to_public(team: Team, *, workspace: str) -> TeamPublic:
    """The API form of a team."""
    return TeamPublic(
        id=team.id,
        workspace=workspace,
        slug=team.slug,
        name=team.name,
        claim_values=team.claim_values,
        created_at=team.created_at,
    )


def workspace_of(session: Session, team: Team) -> Workspace:
    """The workspace that owns ``team``."""
    workspace = session.get(Workspace, team.workspace_id)
    if workspace is None:  # the foreign key makes this impossible; say so rather than crash
        raise NotFound(f"the workspace of team {team.id!r} does not exist")
    return workspace

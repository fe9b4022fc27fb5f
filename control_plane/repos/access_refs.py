"""Forget the access rows that name a row being deleted.

A grant's subject is polymorphic (``agent``, ``user``, ``team``, ``workspace``, ``provider`` +
an id), so the database cannot cascade it; memberships, identities, teams and webhooks do have
foreign keys, which would refuse the delete. The repos that delete those rows call these
functions in the same transaction. This module imports only models, so any repo may use it.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, select

from control_plane.models import (
    AuthnWebhook,
    AuthzWebhook,
    Grant,
    Team,
    TeamMember,
    UserIdentity,
    WorkspaceMember,
)


def forget_subject(session: Session, *, kind: str, subject_id: str) -> int:
    """Delete every grant to ``kind:subject_id``; returns how many there were."""
    query = delete(Grant).where(col(Grant.subject_kind) == kind, col(Grant.subject_id) == subject_id)
    return int(session.exec(query).rowcount)


def forget_server(session: Session, *, server_id: str) -> None:
    """Delete every grant about a server."""
    session.exec(delete(Grant).where(col(Grant.server_id) == server_id))


def forget_provider(session: Session, *, provider_id: str) -> None:
    """Delete the grants to an identity provider and the user identities at it."""
    forget_subject(session, kind="provider", subject_id=provider_id)
    session.exec(delete(UserIdentity).where(col(UserIdentity.provider_id) == provider_id))


def forget_workspace(session: Session, *, workspace_id: str) -> None:
    """Delete a workspace's memberships, teams, webhooks, and the grants to it or its teams."""
    forget_subject(session, kind="workspace", subject_id=workspace_id)
    team_ids = list(session.exec(select(Team.id).where(Team.workspace_id == workspace_id)))
    for team_id in team_ids:
        forget_subject(session, kind="team", subject_id=team_id)
    if team_ids:
        session.exec(delete(TeamMember).where(col(TeamMember.team_id).in_(team_ids)))
        session.exec(delete(Team).where(col(Team.id).in_(team_ids)))
    session.exec(delete(WorkspaceMember).where(col(WorkspaceMember.workspace_id) == workspace_id))
    session.exec(delete(AuthzWebhook).where(col(AuthzWebhook.workspace_id) == workspace_id))
    session.exec(delete(AuthnWebhook).where(col(AuthnWebhook.workspace_id) == workspace_id))

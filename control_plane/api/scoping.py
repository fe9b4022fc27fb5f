"""Authorization helpers the access-control routes share (users, members, teams, grants, webhook, preview).

Each route asks the :class:`~control_plane.api.actor.Actor` before it reads or writes: the
organization admin for organization things, the admin of the owning workspace for workspace
things; listings are cut to the workspaces the caller administers (``Actor.admin_listing_scope``).
"""

from __future__ import annotations

from sqlmodel import Session

from control_plane.api.actor import Actor
from control_plane.models import Workspace
from control_plane.repos import workspaces


def administered_workspace(session: Session, actor: Actor, slug: str) -> Workspace:
    """The workspace ``slug`` (404 when missing), if the caller administers it (403 otherwise)."""
    workspace = workspaces.get(session, slug=slug)
    actor.require_workspace_admin(workspace.id, workspace.slug)
    return workspace

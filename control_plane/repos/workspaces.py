"""Workspaces: create, read, delete (a workspace owning servers or keys is kept)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from control_plane.models import AgentKey, Server, VirtualServer, Workspace, WorkspaceCreate
from control_plane.repos import access_refs, revisions
from control_plane.repos.errors import Conflict, NotFound


def create(session: Session, *, data: WorkspaceCreate, record_revision: bool = True) -> Workspace:
    """Create a workspace; a taken slug is a :class:`Conflict`."""
    if find(session, slug=data.slug) is not None:
        raise Conflict(f"workspace {data.slug!r} already exists")
    workspace = Workspace(slug=data.slug, name=data.name)
    session.add(workspace)
    if record_revision:
        revisions.record(session, reason=f"workspace {data.slug} created")
    session.flush()
    return workspace


def rename(session: Session, *, workspace: Workspace, name: str) -> bool:
    """Set a workspace's display name; returns whether it changed (names are not enforced config)."""
    if workspace.name == name:
        return False
    workspace.name = name
    session.add(workspace)
    session.flush()
    return True


def find(session: Session, *, slug: str) -> Workspace | None:
    """The workspace with ``slug``, or ``None``."""
    return session.exec(select(Workspace).where(Workspace.slug == slug)).first()


def get(session: Session, *, slug: str) -> Workspace:
    """The workspace with ``slug``; :class:`NotFound` when there is none."""
    workspace = find(session, slug=slug)
    if workspace is None:
        raise NotFound(f"workspace {slug!r} does not exist")
    return workspace


def list_all(session: Session) -> list[Workspace]:
    """Every workspace, by slug."""
    return list(session.exec(select(Workspace).order_by(Workspace.slug)))


def slugs_by_id(session: Session) -> dict[str, str]:
    """Workspace id -> slug, to present rows that reference workspaces by id."""
    return {w.id: w.slug for w in session.exec(select(Workspace))}


def delete(session: Session, *, slug: str) -> None:
    """Delete an empty workspace; one that still owns servers or keys is a :class:`Conflict`."""
    workspace = get(session, slug=slug)
    servers = session.exec(
        select(func.count()).select_from(Server).where(Server.workspace_id == workspace.id)
    ).one()
    keys = session.exec(
        select(func.count()).select_from(AgentKey).where(AgentKey.workspace_id == workspace.id)
    ).one()
    if servers or keys:
        raise Conflict(
            f"workspace {slug!r} still owns {servers} server(s) and {keys} key(s); delete them first"
        )
    access_refs.forget_workspace(session, workspace_id=workspace.id)  # members, teams, webhook
    # Its virtual servers have no members left (their servers are gone): they go with it.
    for virtual in session.exec(select(VirtualServer).where(VirtualServer.workspace_id == workspace.id)):
        session.delete(virtual)
    session.delete(workspace)
    revisions.record(session, reason=f"workspace {slug} deleted")
    session.flush()

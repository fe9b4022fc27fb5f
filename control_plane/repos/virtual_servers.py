"""Virtual servers: create, read, update, delete, and what a server's deletion does to them.

Members are stored by server id (in order), so the API shows the member's current slug. A member
must be a server of the virtual server's workspace: composing never reaches another tenant's
servers. Slugs of servers and virtual servers share one namespace (``/{slug}/mcp``).
Deleting a server removes it from every virtual server it was a member of (like the grants
about it), recording a revision.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from control_plane.models import Server, VirtualServer, VirtualServerCreate, VirtualServerUpdate
from control_plane.models.common import utcnow
from control_plane.models.virtual_server import (
    VirtualMemberIn,
    VirtualMemberPublic,
    VirtualServerPublic,
    members_problem,
)
from control_plane.repos import revisions, workspaces
from control_plane.repos.errors import Conflict, Invalid, NotFound
from shared.composition import default_prefix


def find(session: Session, *, slug: str) -> VirtualServer | None:
    """The virtual server with ``slug``, or ``None``."""
    return session.exec(select(VirtualServer).where(VirtualServer.slug == slug)).first()


def get(session: Session, *, slug: str) -> VirtualServer:
    """The virtual server with ``slug``; :class:`NotFound` when there is none."""
    virtual = find(session, slug=slug)
    if virtual is None:
        raise NotFound(f"virtual server {slug!r} does not exist")
    return virtual


def slug_taken(session: Session, slug: str) -> str | None:
    """Why ``slug`` cannot name a new server or virtual server (``None`` when it is free)."""
    if session.exec(select(Server.id).where(Server.slug == slug)).first() is not None:
        return f"a server named {slug!r} already exists"
    if find(session, slug=slug) is not None:
        return f"a virtual server named {slug!r} already exists"
    return None


def _stored_members(
    session: Session, workspace_id: str, members: list[VirtualMemberIn]
) -> list[dict[str, Any]]:
    """The stored form of ``members``; :class:`Invalid` for unknown or foreign servers."""
    by_slug = {
        s.slug: s
        for s in session.exec(select(Server).where(Server.slug.in_([m.server for m in members])))  # type: ignore[attr-defined]
    }
    prefixes: dict[str, str] = {}
    stored: list[dict[str, Any]] = []
    for member in members:
        server = by_slug.get(member.server)
        if server is None:
            raise Invalid(f"member server {member.server!r} does not exist")
        if server.workspace_id != workspace_id:
            raise Invalid(f"member server {member.server!r} belongs to another workspace")
        prefixes[member.server] = member.prefix or default_prefix(member.server)
        stored.append(
            {
                "server_id": server.id,
                "prefix": member.prefix,
                "tools": None if member.tools is None else sorted(set(member.tools)),
                "renames": dict(sorted(member.renames.items())),
                "descriptions": dict(sorted(member.descriptions.items())),
            }
        )
    problem = members_problem(members, prefixes)
    if problem is not None:
        raise Invalid(problem)
    return stored


def create(session: Session, *, data: VirtualServerCreate, record_revision: bool = True) -> VirtualServer:
    """Create a virtual server; a taken slug (server or virtual server) is a :class:`Conflict`."""
    workspace = workspaces.get(session, slug=data.workspace)
    taken = slug_taken(session, data.slug)
    if taken is not None:
        raise Conflict(taken)
    virtual = VirtualServer(
        slug=data.slug,
        name=data.name,
        instructions=data.instructions,
        workspace_id=workspace.id,
        members=_stored_members(session, workspace.id, data.members),
    )
    session.add(virtual)
    if record_revision:
        revisions.record(session, reason=f"virtual server {data.slug} created")
    session.flush()
    return virtual


def list_all(session: Session, *, workspace: str | None = None) -> list[VirtualServer]:
    """Every virtual server (of one workspace when ``workspace`` is given), by slug."""
    query = select(VirtualServer).order_by(VirtualServer.slug)
    if workspace is not None:
        query = query.where(VirtualServer.workspace_id == workspaces.get(session, slug=workspace).id)
    return list(session.exec(query))


def update(
    session: Session, *, slug: str, data: VirtualServerUpdate, record_revision: bool = True
) -> tuple[VirtualServer, bool]:
    """Apply the fields set in ``data``; returns the virtual server and whether anything changed."""
    virtual = get(session, slug=slug)
    changed = False
    for name in ("name", "instructions"):
        value = getattr(data, name)
        if value is not None and getattr(virtual, name) != value:
            setattr(virtual, name, value)
            changed = True
    if data.members is not None:
        members = _stored_members(session, virtual.workspace_id, data.members)
        if members != virtual.members:
            virtual.members = members
            changed = True
    if changed:
        virtual.updated_at = utcnow()
        session.add(virtual)
        if record_revision:
            revisions.record(session, reason=f"virtual server {slug} updated")
        session.flush()
    return virtual, changed


def delete(session: Session, *, slug: str) -> None:
    """Delete a virtual server (its members are untouched)."""
    session.delete(get(session, slug=slug))
    revisions.record(session, reason=f"virtual server {slug} deleted")
    session.flush()


def forget_server(session: Session, *, server_id: str) -> None:
    """Remove the server ``server_id`` from every virtual server it is a member of."""
    for virtual in session.exec(select(VirtualServer)):
        kept = [m for m in virtual.members if m.get("server_id") != server_id]
        if len(kept) != len(virtual.members):
            virtual.members = kept  # a new list: JSON columns persist replacements, not mutations
            virtual.updated_at = utcnow()
            session.add(virtual)


def members_public(virtual: VirtualServer, server_slugs: dict[str, str]) -> list[VirtualMemberPublic]:
    """The members as the API shows them (slugs and the prefixes in effect)."""
    out: list[VirtualMemberPublic] = []
    for member in virtual.members:
        slug = server_slugs.get(str(member.get("server_id")))
        if slug is None:
            continue
        out.append(
            VirtualMemberPublic(
                server=slug,
                prefix=member.get("prefix") or default_prefix(slug),
                tools=member.get("tools"),
                renames=member.get("renames") or {},
                descriptions=member.get("descriptions") or {},
            )
        )
    return out


def to_public(session: Session, virtual: VirtualServer) -> VirtualServerPublic:
    """The API form of a virtual server."""
    server_slugs = dict(session.exec(select(Server.id, Server.slug)).all())
    return VirtualServerPublic(
        id=virtual.id,
        slug=virtual.slug,
        name=virtual.name,
        instructions=virtual.instructions,
        workspace=workspaces.slugs_by_id(session)[virtual.workspace_id],
        members=members_public(virtual, server_slugs),
        created_at=virtual.created_at,
        updated_at=virtual.updated_at,
    )

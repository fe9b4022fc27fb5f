"""Declarative virtual servers (the ``virtual_servers`` section of ``mcpgw apply``).

Matched by slug; created, or updated to match (``members`` given is the whole list). Applied
after the document's servers, so a virtual server may name servers created by the same document.
A virtual server does not change workspace once created (409).
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlmodel import Session

from control_plane.apply_access import Action
from control_plane.models import VirtualServerCreate, VirtualServerUpdate
from control_plane.repos import virtual_servers, workspaces
from control_plane.repos.errors import Conflict


class AppliedVirtualServer(BaseModel):
    slug: str
    action: Action


def apply_virtual_server(session: Session, item: VirtualServerCreate) -> AppliedVirtualServer:
    """Create or update one virtual server (no revision: the caller records one for the document)."""
    existing = virtual_servers.find(session, slug=item.slug)
    if existing is None:
        virtual_servers.create(session, data=item, record_revision=False)
        return AppliedVirtualServer(slug=item.slug, action="created")
    if existing.workspace_id != workspaces.get(session, slug=item.workspace).id:
        raise Conflict(f"virtual server {item.slug!r} belongs to another workspace; it does not move")
    update = VirtualServerUpdate(name=item.name, instructions=item.instructions, members=item.members)
    _, changed = virtual_servers.update(session, slug=item.slug, data=update, record_revision=False)
    return AppliedVirtualServer(slug=item.slug, action="updated" if changed else "unchanged")

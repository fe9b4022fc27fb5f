"""``/api/v1/virtual-servers``: one MCP endpoint aggregating several servers of a workspace.

Authorized like servers: every route needs the admin of the virtual server's workspace (or an
organization admin); the listing shows only the virtual servers of workspaces the caller
administers. Members must be servers of the same workspace.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import Session

from control_plane.api.actor import Actor
from control_plane.api.deps import ActorDep, SessionDep
from control_plane.models import VirtualServer, VirtualServerCreate, VirtualServerPublic, VirtualServerUpdate
from control_plane.repos import virtual_servers, workspaces

router = APIRouter(prefix="/virtual-servers", tags=["virtual servers"])


def _managed(session: Session, actor: Actor, slug: str) -> VirtualServer:
    """The virtual server ``slug`` (404), if the caller administers its workspace (403 otherwise)."""
    virtual = virtual_servers.get(session, slug=slug)
    actor.require_workspace_admin(virtual.workspace_id, workspaces.slugs_by_id(session)[virtual.workspace_id])
    return virtual


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a virtual server")
def create_virtual_server(
    session: SessionDep, actor: ActorDep, body: VirtualServerCreate
) -> VirtualServerPublic:
    """Create a virtual server served at ``/{slug}/mcp``; 409 when the slug names a server or
    virtual server already, 422 when a member is unknown, of another workspace, or members clash."""
    workspace = workspaces.get(session, slug=body.workspace)
    actor.require_workspace_admin(workspace.id, workspace.slug)
    return virtual_servers.to_public(session, virtual_servers.create(session, data=body))


@router.get("", summary="List virtual servers")
def list_virtual_servers(
    session: SessionDep, actor: ActorDep, workspace: str | None = None
) -> list[VirtualServerPublic]:
    """The virtual servers of the workspaces the caller administers, or of one of them."""
    scope = actor.admin_listing_scope()
    return [
        virtual_servers.to_public(session, v)
        for v in virtual_servers.list_all(session, workspace=workspace)
        if scope is None or v.workspace_id in scope
    ]


@router.get("/{slug}", summary="Get a virtual server")
def get_virtual_server(session: SessionDep, actor: ActorDep, slug: str) -> VirtualServerPublic:
    """One virtual server by slug."""
    return virtual_servers.to_public(session, _managed(session, actor, slug))


@router.patch("/{slug}", summary="Update a virtual server")
def update_virtual_server(
    session: SessionDep, actor: ActorDep, slug: str, body: VirtualServerUpdate
) -> VirtualServerPublic:
    """Change the name, instructions or members (``members`` replaces the whole list)."""
    _managed(session, actor, slug)
    virtual, _ = virtual_servers.update(session, slug=slug, data=body)
    return virtual_servers.to_public(session, virtual)


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a virtual server")
def delete_virtual_server(session: SessionDep, actor: ActorDep, slug: str) -> None:
    """Delete a virtual server; its member servers are untouched."""
    _managed(session, actor, slug)
    virtual_servers.delete(session, slug=slug)

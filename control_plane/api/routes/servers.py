"""``/api/v1/servers``: upstream MCP servers and their discovered tool catalogs.

Every route needs the admin of the server's workspace (or an organization admin); the listing
shows only the servers of workspaces the caller administers.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import Session

from control_plane import catalog
from control_plane.api.actor import Actor
from control_plane.api.deps import ActorDep, SessionDep, StateDep
from control_plane.discovery import DiscoveredTool, DiscoveryFailed
from control_plane.models import Server, ServerCreate, ServerPublic, ServerUpdate, ToolPublic
from control_plane.repos import servers, virtual_servers, workspaces
from control_plane.repos.errors import Conflict

router = APIRouter(prefix="/servers", tags=["servers"])


def _public(session: Session, server: Server) -> ServerPublic:
    return servers.to_public(server, workspace=workspaces.slugs_by_id(session)[server.workspace_id])


def _managed(session: Session, actor: Actor, slug: str) -> Server:
    """The server ``slug`` (404), if the caller administers its workspace (403 otherwise)."""
    server = servers.get(session, slug=slug)
    actor.require_workspace_admin(server.workspace_id, workspaces.slugs_by_id(session)[server.workspace_id])
    return server


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register an upstream MCP server")
def create_server(session: SessionDep, state: StateDep, actor: ActorDep, body: ServerCreate) -> ServerPublic:
    """Register a server; with ``discover`` its tool catalog is fetched first.

    An unreachable upstream does not fail the registration: the reason is kept in
    ``discovery_error`` and ``POST /servers/{slug}/discover`` retries.
    """
    workspace = workspaces.get(session, slug=body.workspace)
    actor.require_workspace_admin(workspace.id, workspace.slug)
    if servers.find(session, slug=body.slug) is not None:
        raise Conflict(f"server {body.slug!r} already exists")
    if (taken := virtual_servers.slug_taken(session, body.slug)) is not None:
        raise Conflict(taken)
    found: list[DiscoveredTool] | None = None
    error = ""
    if body.discover:
        try:
            timeout = state.settings.discovery_timeout_seconds
            found = catalog.discover_now(servers.target_of(body), timeout=timeout)
        except DiscoveryFailed as exc:
            error = str(exc)
    server = servers.create(session, data=body, secrets=state.secrets, catalog=found, discovery_error=error)
    return _public(session, server)


@router.get("", summary="List servers")
def list_servers(session: SessionDep, actor: ActorDep, workspace: str | None = None) -> list[ServerPublic]:
    """The servers of the workspaces the caller administers, or of one of them."""
    scope = actor.admin_listing_scope()
    slugs = workspaces.slugs_by_id(session)
    return [
        servers.to_public(s, workspace=slugs[s.workspace_id])
        for s in servers.list_all(session, workspace=workspace)
        if scope is None or s.workspace_id in scope
    ]


@router.get("/{slug}", summary="Get a server")
def get_server(session: SessionDep, actor: ActorDep, slug: str) -> ServerPublic:
    """One server by slug (header names only, never values)."""
    return _public(session, _managed(session, actor, slug))


@router.patch("/{slug}", summary="Update a server")
def update_server(
    session: SessionDep, state: StateDep, actor: ActorDep, slug: str, body: ServerUpdate
) -> ServerPublic:
    """Change URL, transport, timeout, headers, credential or identity forwarding.

    ``headers``, ``auth`` and ``identity`` each replace what the server had.
    """
    _managed(session, actor, slug)
    server, _ = servers.update(session, slug=slug, data=body, secrets=state.secrets)
    return _public(session, server)


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a server")
def delete_server(session: SessionDep, actor: ActorDep, slug: str) -> None:
    """Delete a server, its tool catalog, every key scope entry naming it, and its membership in
    virtual servers (they keep serving their other members)."""
    _managed(session, actor, slug)
    servers.delete(session, slug=slug)


@router.get("/{slug}/tools", summary="List a server's discovered tools")
def list_tools(session: SessionDep, actor: ActorDep, slug: str) -> list[ToolPublic]:
    """The tool catalog as last discovered."""
    server = _managed(session, actor, slug)
    return [ToolPublic.model_validate(t) for t in servers.list_tools(session, server=server)]


@router.post(
    "/{slug}/discover",
    summary="Fetch a server's tool catalog now",
    responses={status.HTTP_502_BAD_GATEWAY: {"description": "the upstream could not be reached or refused"}},
)
def discover(state: StateDep, actor: ActorDep, slug: str) -> list[ToolPublic]:
    """Fetch the tool catalog from the upstream and store it; 502 with the reason if it fails."""
    with state.db.session() as session:  # not held open while the upstream answers
        _managed(session, actor, slug)
    try:
        tools = catalog.refresh(
            state.db, slug=slug, secrets=state.secrets, timeout=state.settings.discovery_timeout_seconds
        )
    except DiscoveryFailed as exc:
        # The reason is already stored on the server (its own transaction); tell the caller too.
        raise HTTPException(status_code=status.HTTP_502_BAD_GATEWAY, detail=str(exc)) from exc
    return [ToolPublic.model_validate(t) for t in tools]

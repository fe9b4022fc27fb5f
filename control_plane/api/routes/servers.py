"""``/api/v1/servers``: upstream MCP servers and their discovered tool catalogs."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import Session

from control_plane import catalog
from control_plane.api.deps import SessionDep, StateDep
from control_plane.discovery import DiscoveredTool, DiscoveryFailed
from control_plane.models import Server, ServerCreate, ServerPublic, ServerUpdate, ToolPublic
from control_plane.repos import servers, workspaces
from control_plane.repos.errors import Conflict

router = APIRouter(prefix="/servers", tags=["servers"])


def _public(session: Session, server: Server) -> ServerPublic:
    return servers.to_public(server, workspace=workspaces.slugs_by_id(session)[server.workspace_id])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register an upstream MCP server")
def create_server(session: SessionDep, state: StateDep, body: ServerCreate) -> ServerPublic:
    """Register a server; with ``discover`` its tool catalog is fetched first.

    An unreachable upstream does not fail the registration: the reason is kept in
    ``discovery_error`` and ``POST /servers/{slug}/discover`` retries.
    """
    workspaces.get(session, slug=body.workspace)
    if servers.find(session, slug=body.slug) is not None:
        raise Conflict(f"server {body.slug!r} already exists")
    found: list[DiscoveredTool] | None = None
    error = ""
    if body.discover:
        try:
            timeout = state.settings.discovery_timeout_seconds
            url, headers = servers.with_credentials(body.url, body.headers, body.auth)
            found = catalog.discover_now(url=url, headers=headers, timeout=timeout)
        except DiscoveryFailed as exc:
            error = str(exc)
    server = servers.create(session, data=body, secrets=state.secrets, catalog=found, discovery_error=error)
    return _public(session, server)


@router.get("", summary="List servers")
def list_servers(session: SessionDep, workspace: str | None = None) -> list[ServerPublic]:
    """Every server, or those of one workspace."""
    slugs = workspaces.slugs_by_id(session)
    return [
        servers.to_public(s, workspace=slugs[s.workspace_id])
        for s in servers.list_all(session, workspace=workspace)
    ]


@router.get("/{slug}", summary="Get a server")
def get_server(session: SessionDep, slug: str) -> ServerPublic:
    """One server by slug (header names only, never values)."""
    return _public(session, servers.get(session, slug=slug))


@router.patch("/{slug}", summary="Update a server")
def update_server(session: SessionDep, state: StateDep, slug: str, body: ServerUpdate) -> ServerPublic:
    """Change URL, transport, timeout, headers, credential or identity forwarding.

    ``headers``, ``auth`` and ``identity`` each replace what the server had.
    """
    server, _ = servers.update(session, slug=slug, data=body, secrets=state.secrets)
    return _public(session, server)


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a server")
def delete_server(session: SessionDep, slug: str) -> None:
    """Delete a server, its tool catalog, and every key scope entry naming it."""
    servers.delete(session, slug=slug)


@router.get("/{slug}/tools", summary="List a server's discovered tools")
def list_tools(session: SessionDep, slug: str) -> list[ToolPublic]:
    """The tool catalog as last discovered."""
    server = servers.get(session, slug=slug)
    return [ToolPublic.model_validate(t) for t in servers.list_tools(session, server=server)]


@router.post(
    "/{slug}/discover",
    summary="Fetch a server's tool catalog now",
    responses={status.HTTP_502_BAD_GATEWAY: {"description": "the upstream could not be reached or refused"}},
)
def discover(state: StateDep, slug: str) -> list[ToolPublic]:
    """Fetch the tool catalog from the upstream and store it; 502 with the reason if it fails."""
    try:
        tools = catalog.refresh(
            state.db, slug=slug, secrets=state.secrets, timeout=state.settings.discovery_timeout_seconds
        )
    except DiscoveryFailed as exc:
        # The reason is already stored on the server (its own transaction); tell the caller too.
        raise HTTPException(status_code=status.HTTP_502_BAD_GATEWAY, detail=str(exc)) from exc
    return [ToolPublic.model_validate(t) for t in tools]

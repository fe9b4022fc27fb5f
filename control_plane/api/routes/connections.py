"""Per-user OAuth connections: ``/api/v1/me/connections`` (self-service) and a server's connections (admins).

Any signed-in user may connect their own account to a server whose upstream credential is
``oauth2_user``: connecting grants nothing (the data plane still decides with the grants whether
the user may use the server), it only lets the gateway act with the user's own upstream account.
Tokens are never shown; listings give status, scopes and expiry.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from control_plane.api.actor import Actor
from control_plane.api.deps import ActorDep, SessionDep, StateDep
from control_plane.models import Server
from control_plane.models.user_oauth import ConnectionPublic, ConnectionStarted
from control_plane.repos import servers, user_connections, workspaces
from control_plane.repos.errors import Invalid, NotFound
from control_plane.user_oauth import AuthorizationServerUnavailable
from control_plane.user_oauth.broker import uses_user_oauth

router = APIRouter(tags=["connections"])


def _user(actor: Actor) -> str:
    if actor.user_id is None:
        raise Invalid("the bootstrap admin token is no user: sign in as a user to connect an account")
    return actor.user_id


def _connectable(session: SessionDep, slug: str) -> Server:
    server = servers.get(session, slug=slug)
    if not uses_user_oauth(server):
        raise NotFound(
            f"server {slug!r} takes no per-user connections (its upstream auth is not oauth2_user)"
        )
    return server


@router.post(
    "/me/connections/{server}",
    status_code=status.HTTP_201_CREATED,
    summary="Start connecting your account to a server",
)
def connect(session: SessionDep, actor: ActorDep, state: StateDep, server: str) -> ConnectionStarted:
    """The authorization URL (authorization code + PKCE) to open in a browser; the authorization
    server sends the browser back to ``/oauth/callback``, which stores the connection. The URL is
    valid once, for a few minutes. Connecting again replaces the connection."""
    user_id = _user(actor)
    found = _connectable(session, server)
    try:
        return state.connections.start(session, user_id=user_id, server=found)
    except AuthorizationServerUnavailable as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"server {server!r}: {exc}") from exc


@router.get("/me/connections", summary="List your connections")
def list_my_connections(session: SessionDep, actor: ActorDep) -> list[ConnectionPublic]:
    """Your connections to servers: status (``connected`` or ``needs_reconnect``), scopes, expiry."""
    if actor.user_id is None:
        return []
    return user_connections.list_for_user(session, user_id=actor.user_id)


@router.delete(
    "/me/connections/{server}", status_code=status.HTTP_204_NO_CONTENT, summary="Disconnect your account"
)
def disconnect(session: SessionDep, actor: ActorDep, state: StateDep, server: str) -> None:
    """Forget your connection to the server and revoke its refresh token at the authorization
    server when it has a revocation endpoint. Data planes stop using the access token they hold
    when it runs out (they ask the control plane again, which then answers "not connected")."""
    user_id = _user(actor)
    state.connections.disconnect(session, user_id=user_id, server=_connectable(session, server))


@router.get("/servers/{slug}/connections", summary="List the users' connections to a server")
def list_server_connections(session: SessionDep, actor: ActorDep, slug: str) -> list[ConnectionPublic]:
    """Every user's connection to the server (status, scopes, expiry; never a token); for the
    admins of the server's workspace."""
    server = servers.get(session, slug=slug)
    actor.require_workspace_admin(server.workspace_id, workspaces.slugs_by_id(session)[server.workspace_id])
    return user_connections.list_for_server(session, server_id=server.id)

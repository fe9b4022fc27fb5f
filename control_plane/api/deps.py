"""Dependencies of the admin API, as types: the control-plane state, a session, the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc.jwk import OKPKey
from sqlmodel import Session

from control_plane.api.actor import Actor
from control_plane.api.admin_auth import Unauthenticated, authenticate
from control_plane.api.idp_login import SigningKeys
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.distribution import Distribution
from control_plane.models.common import utcnow
from control_plane.settings import ControlPlaneSettings
from control_plane.user_oauth import UserOAuth


@dataclass(frozen=True, slots=True)
class ControlPlaneState:
    """What the running control plane holds; built by the app's lifespan."""

    settings: ControlPlaneSettings
    db: Database
    secrets: SecretBox
    signing_key: OKPKey
    distribution: Distribution | None = None
    """``None`` when the app serves only the admin API (``start_distribution=False``)."""
    login_keys: SigningKeys = field(default_factory=SigningKeys)
    """Signing keys of the identity providers admins log in with (cached, refetched on unknown kid)."""
    user_oauth: UserOAuth | None = None
    """The per-user OAuth connect flow and token broker (shared with distribution)."""

    @property
    def connections(self) -> UserOAuth:
        """The per-user OAuth broker (built by the lifespan)."""
        if self.user_oauth is None:
            raise RuntimeError("the control plane is not started (no per-user OAuth broker)")
        return self.user_oauth


def get_state(request: Request) -> ControlPlaneState:
    """The state the lifespan stored on the app."""
    state = getattr(request.app.state, "control_plane", None)
    if not isinstance(state, ControlPlaneState):
        raise RuntimeError("the control plane is not started (lifespan did not run)")
    return state


StateDep = Annotated[ControlPlaneState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """A session in a transaction that commits when the route returns and rolls back on error."""
    with state.db.transaction() as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is the route's error.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    description="an admin API token, an identity-provider JWT (admin login), or the bootstrap MCPGW_ADMIN_TOKEN",
)


def _refuse(reason: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED, detail=reason, headers={"WWW-Authenticate": "Bearer"}
    )


def require_admin(
    state: StateDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    """The caller of the admin API; 401 unless its bearer token authenticates someone.

    Authorization is each route's business: it asks the returned :class:`Actor`.
    """
    if credentials is None:
        hint = "" if state.settings.admin_token else " (no admin token is configured in MCPGW_ADMIN_TOKEN)"
        raise _refuse(f"missing bearer token: send Authorization: Bearer <admin token or IdP token>{hint}")
    try:
        return authenticate(
            credentials.credentials,
            db=state.db,
            settings=state.settings,
            keys=state.login_keys,
            now=utcnow(),
        )
    except Unauthenticated as exc:
        raise _refuse(exc.reason) from exc


ActorDep = Annotated[Actor, Depends(require_admin)]
"""The authenticated caller; routes ask it (``actor.require_workspace_admin(...)``) before acting."""

"""Dependencies of the admin API, as types: the control-plane state, a session, admin auth."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from joserfc.jwk import OKPKey
from sqlmodel import Session

from control_plane.api.actor import BOOTSTRAP_ADMIN, Actor
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.distribution import Distribution
from control_plane.settings import ControlPlaneSettings


@dataclass(frozen=True, slots=True)
class ControlPlaneState:
    """What the running control plane holds; built by the app's lifespan."""

    settings: ControlPlaneSettings
    db: Database
    secrets: SecretBox
    signing_key: OKPKey
    distribution: Distribution | None = None
    """``None`` when the app serves only the admin API (``start_distribution=False``)."""


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

_bearer = HTTPBearer(auto_error=False, description="the admin token (MCPGW_ADMIN_TOKEN)")


def _refuse(reason: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED, detail=reason, headers={"WWW-Authenticate": "Bearer"}
    )


def require_admin(
    state: StateDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Actor:
    """The caller of the admin API; 401 unless it carries ``Authorization: Bearer <admin token>``."""
    expected = state.settings.admin_token
    if not expected:
        raise _refuse("the admin API is disabled: no admin token is configured (MCPGW_ADMIN_TOKEN)")
    if credentials is None:
        raise _refuse("missing bearer token: send Authorization: Bearer <admin token>")
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise _refuse("invalid admin token")
    return BOOTSTRAP_ADMIN


ActorDep = Annotated[Actor, Depends(require_admin)]
"""The authenticated caller; routes ask it (``actor.require_workspace_admin(...)``) before acting."""

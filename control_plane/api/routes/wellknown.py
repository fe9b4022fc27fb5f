"""``/.well-known/jwks.json``: the public keys that verify gateway-signed identity JWTs.

A public document (no admin token): upstream servers fetch it to verify the identity JWT a data
plane sends them. It lists the identity key of every data-plane group; each data plane also
serves its own group's key at the same path.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from control_plane.api.deps import SessionDep
from control_plane.repos import groups

router = APIRouter(tags=["well-known"])


@router.get("/.well-known/jwks.json", summary="Identity-JWT verification keys (JWKS)")
def jwks(session: SessionDep) -> dict[str, list[dict[str, Any]]]:
    """The Ed25519 public keys (JWK set) of every data-plane group's identity key."""
    return {"keys": list(groups.identity_jwks(session))}

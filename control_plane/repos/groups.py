"""Registering data-plane groups (reads are in ``repos.dataplanes``): validate the X25519 key, record a revision."""

from __future__ import annotations

from typing import Any

from joserfc.errors import JoseError
from sqlmodel import Session

from control_plane.models import DataPlaneGroup
from control_plane.repos import dataplanes, revisions
from control_plane.repos.errors import Conflict, Invalid
from shared import keyfiles


def public_x25519_jwk(jwk: dict[str, Any]) -> dict[str, str]:
    """Validate an X25519 public JWK and return its public members only (:class:`Invalid` if unusable)."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "X25519":
        raise Invalid('public_key must be an X25519 JWK ({"kty": "OKP", "crv": "X25519", "x": ...})')
    if "d" in jwk:
        raise Invalid("public_key contains a private key (member 'd'); send only the public half")
    try:
        key = keyfiles.from_jwk({str(k): str(v) for k, v in jwk.items()})
    except (JoseError, ValueError, TypeError) as exc:
        raise Invalid(f"public_key is not a valid X25519 JWK: {exc}") from exc
    return keyfiles.public_jwk(key)


def create(session: Session, *, name: str, public_key: dict[str, Any]) -> DataPlaneGroup:
    """Register a data-plane group; a taken name is a :class:`Conflict`."""
    jwk = public_x25519_jwk(public_key)
    if dataplanes.get_group(session, name=name) is not None:
        raise Conflict(f"data-plane group {name!r} already exists")
    group = DataPlaneGroup(name=name, public_key=jwk)
    session.add(group)
    revisions.record(session, reason=f"data-plane group {name} created")
    session.flush()
    return group

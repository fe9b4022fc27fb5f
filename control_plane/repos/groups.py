"""Registering data-plane groups (reads are in ``repos.dataplanes``): validate the X25519 key, record a revision.

Each group also gets an Ed25519 *identity key* that signs the identity JWTs its data planes send
upstream: generated here, its private JWK stored encrypted with the master key, sealed into the
group's snapshots, its public half published at ``/.well-known/jwks.json``.
"""

from __future__ import annotations

import json
from typing import Any

from joserfc.errors import JoseError
from sqlmodel import Session, select

from control_plane.crypto import SecretBox
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


def create(session: Session, *, name: str, public_key: dict[str, Any], secrets: SecretBox) -> DataPlaneGroup:
    """Register a data-plane group (with a new identity key); a taken name is a :class:`Conflict`."""
    jwk = public_x25519_jwk(public_key)
    if dataplanes.get_group(session, name=name) is not None:
        raise Conflict(f"data-plane group {name!r} already exists")
    group = DataPlaneGroup(name=name, public_key=jwk)
    _give_identity_key(group, secrets)
    session.add(group)
    revisions.record(session, reason=f"data-plane group {name} created")
    session.flush()
    return group


def _give_identity_key(group: DataPlaneGroup, secrets: SecretBox) -> None:
    key = keyfiles.generate("Ed25519")
    group.identity_key_encrypted = secrets.encrypt(json.dumps(key.as_dict(private=True)))
    group.identity_public_key = {
        **keyfiles.public_jwk(key),
        "kid": key.thumbprint(),
        "use": "sig",
        "alg": "Ed25519",
    }


def ensure_identity_keys(session: Session, *, secrets: SecretBox) -> list[str]:
    """Give every group that has none an identity key (groups made before keys existed).

    Returns the names of the groups that got one; a revision is recorded so their data planes
    receive the key.
    """
    given: list[str] = []
    for group in session.exec(select(DataPlaneGroup).where(DataPlaneGroup.identity_key_encrypted == "")):
        _give_identity_key(group, secrets)
        session.add(group)
        given.append(group.name)
    if given:
        revisions.record(session, reason=f"identity keys for {', '.join(given)}")
        session.flush()
    return given


def identity_jwks(session: Session) -> list[dict[str, str]]:
    """The public identity keys of every group (the JWKS upstreams verify identity JWTs with)."""
    groups = session.exec(select(DataPlaneGroup).order_by(DataPlaneGroup.name))
    return [dict(g.identity_public_key) for g in groups if g.identity_public_key]

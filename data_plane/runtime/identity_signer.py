"""Identity toward upstreams: the gateway-signed identity JWT and plain identity headers.

The group's Ed25519 identity key arrives sealed in the snapshot and is opened once, when the
snapshot is compiled. Signing per request is cheap: the JWS header segment is precomputed, the
key object reused, and only the claims are serialized and signed (one Ed25519 signature).

The principal is read through ``getattr`` with defaults, so an agent key (``key_id``, ``name``,
``workspace``) and an IdP principal (``subject``, ``email``, ``groups``, ``roles``, ``team``)
both work without this module knowing either type.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from data_plane.runtime.upstream_credentials import IdentityPolicy

ALGORITHM = "Ed25519"
"""The fully-specified JWS algorithm of RFC 9864 (``EdDSA`` is deprecated by it)."""


class IdentityKeyError(Exception):
    """The identity key in the snapshot is not a usable Ed25519 private JWK."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Identity:
    """What the gateway knows about a caller, whatever kind of principal it is."""

    subject: str
    email: str | None = None
    team: str | None = None
    roles: tuple[str, ...] = ()
    workspace: str | None = None
    agent: str | None = None


def _text(principal: object, name: str) -> str | None:
    value = getattr(principal, name, None)
    return value if isinstance(value, str) and value else None


def _texts(principal: object, name: str) -> tuple[str, ...]:
    value = getattr(principal, name, None)
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, Sequence | frozenset | set):
        return tuple(str(v) for v in value)
    return ()


def identity_of(principal: object) -> Identity:
    """The identity of an agent key or an IdP principal (fields it lacks are left out)."""
    groups = _texts(principal, "groups")
    return Identity(
        subject=_text(principal, "subject") or _text(principal, "key_id") or "",
        email=_text(principal, "email"),
        team=_text(principal, "team") or (groups[0] if groups else None),
        roles=_texts(principal, "roles"),
        workspace=_text(principal, "workspace"),
        # An IdP principal's ``name`` is its subject; only an agent key names an agent.
        agent=None if _text(principal, "identity_provider") else _text(principal, "name"),
    )


class IdentitySigner:
    """Signs identity JWTs with the group's identity key (one per compiled snapshot)."""

    def __init__(self, private_jwk: dict[str, Any], *, issuer: str) -> None:
        try:
            key = OKPKey.import_key(private_jwk)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise IdentityKeyError(f"identity key is not a JWK: {type(exc).__name__}") from exc
        private = key.private_key if key.is_private else None
        if key.curve_name != "Ed25519" or not isinstance(private, Ed25519PrivateKey):
            raise IdentityKeyError("identity key is not an Ed25519 private key")
        self._private = private
        self.issuer = issuer
        self.kid = key.thumbprint()
        self.public_jwk: dict[str, str] = {
            **{k: str(v) for k, v in key.as_dict(private=False).items()},
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }
        header = {"alg": ALGORITHM, "typ": "JWT", "kid": self.kid}
        self._header = _b64(json.dumps(header, separators=(",", ":")).encode())

    @classmethod
    def from_json(cls, text: str, *, issuer: str) -> IdentitySigner:
        """A signer from the private JWK as JSON text."""
        try:
            jwk = json.loads(text)
        except ValueError as exc:
            raise IdentityKeyError("identity key is not JSON") from exc
        if not isinstance(jwk, dict):
            raise IdentityKeyError("identity key is not a JWK object")
        return cls(jwk, issuer=issuer)

    def claims(self, identity: Identity, *, audience: str, ttl_seconds: int, now: int) -> dict[str, Any]:
        """The claims of an identity JWT (attributes the caller lacks are left out)."""
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": identity.subject,
            "aud": audience,
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": secrets.token_urlsafe(16),
        }
        optional: dict[str, Any] = {
            "email": identity.email,
            "team": identity.team,
            "roles": list(identity.roles) if identity.roles else None,
            "workspace": identity.workspace,
            "agent": identity.agent,
        }
        claims.update({k: v for k, v in optional.items() if v is not None})
        return claims

    def sign(self, claims: dict[str, Any]) -> str:
        """The compact JWS (JWT) of ``claims``."""
        signing_input = f"{self._header}.{_b64(orjson.dumps(claims))}"
        return f"{signing_input}.{_b64(self._private.sign(signing_input.encode()))}"


def _header_safe(value: str) -> str:
    """A header value without line breaks (claims come from IdPs; never let them split headers)."""
    return value.replace("\r", " ").replace("\n", " ")


def identity_headers(
    principal: object, policy: IdentityPolicy, signer: IdentitySigner | None, *, now: int
) -> list[tuple[str, str]]:
    """The identity headers for one request (the JWT only when a signer is available)."""
    identity = identity_of(principal)
    out: list[tuple[str, str]] = []
    if policy.jwt_header and signer is not None:
        claims = signer.claims(identity, audience=policy.audience, ttl_seconds=policy.ttl_seconds, now=now)
        out.append((policy.jwt_header, signer.sign(claims)))
    values = {
        "email": identity.email,
        "team": identity.team,
        "roles": ",".join(identity.roles) if identity.roles else None,
        "subject": identity.subject or None,
    }
    for attribute, header in policy.headers:
        value = values.get(attribute)
        if value:
            out.append((header, _header_safe(value)))
    return out

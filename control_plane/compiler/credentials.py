"""Upstream credentials and the group identity key, as the compiler puts them into a snapshot.

Plaintext secrets (decrypted with the master key) exist only between :func:`server_auth` /
:func:`identity_key` and the sealing step of the compiler; they are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from control_plane.crypto import SecretBox, SecretBoxError
from control_plane.models import DataPlaneGroup, Server
from control_plane.repos.servers import SECRET_FIELDS
from shared.snapshot.credentials import IdentityForwarding, NoAuth, Sealed, UpstreamAuth, UserOAuthAuth

_AUTH = TypeAdapter[UpstreamAuth](UpstreamAuth)


class CredentialError(Exception):
    """A stored credential cannot be opened or does not describe a valid credential."""


@dataclass(frozen=True, slots=True)
class PlainAuth:
    """A server's credential: its public fields and its decrypted secret (never log it)."""

    public: dict[str, Any]
    secret: str = field(default="", repr=False)


def server_auth(server: Server, secrets: SecretBox) -> PlainAuth:
    """The credential of ``server`` with its secret decrypted."""
    public = dict(server.auth or {"type": "none"})
    if public.get("type") == "oauth2_user":
        # The control plane is the broker: the client secret never leaves it (no secret to seal).
        return PlainAuth(public={"type": "oauth2_user"})
    if str(public.get("type")) not in SECRET_FIELDS:
        return PlainAuth(public={"type": "none"})
    try:
        return PlainAuth(public=public, secret=secrets.decrypt(server.auth_secret_encrypted))
    except SecretBoxError as exc:
        raise CredentialError(f"credential of server {server.slug!r} cannot be decrypted") from exc


def auth_entry(plain: PlainAuth, seal: Callable[[str], str]) -> UpstreamAuth:
    """The snapshot form of a credential, its secret replaced by ``seal(secret)``."""
    kind = str(plain.public.get("type"))
    if kind == "oauth2_user":
        return UserOAuthAuth()
    secret_field = SECRET_FIELDS.get(kind)
    if secret_field is None:
        return NoAuth()
    document = {k: v for k, v in plain.public.items() if k != "in"}
    if kind == "api_key":
        document["location"] = plain.public.get("in")
    document[secret_field] = Sealed(sealed=seal(plain.secret))
    if kind in ("oauth2_client_credentials", "token_exchange"):
        document["scopes"] = tuple(document.get("scopes") or ())
    try:
        return _AUTH.validate_python(document)
    except ValidationError as exc:
        raise CredentialError(f"stored credential of type {kind!r} is not valid") from exc


def server_identity(server: Server) -> IdentityForwarding:
    """The identity-forwarding settings of ``server``."""
    return IdentityForwarding.model_validate(server.identity or {})


def identity_key(group: DataPlaneGroup, secrets: SecretBox) -> str | None:
    """The group's identity private JWK (JSON text), or ``None`` when it has none yet."""
    if not group.identity_key_encrypted:
        return None
    try:
        return secrets.decrypt(group.identity_key_encrypted)
    except SecretBoxError as exc:
        raise CredentialError(f"identity key of group {group.name!r} cannot be decrypted") from exc

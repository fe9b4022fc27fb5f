"""Keycloak realms as identity providers: resolve issuer and endpoints with python-keycloak.

Used when an identity provider of kind ``keycloak`` is registered or updated: the realm's
well-known configuration gives the issuer, the JWKS URI and the introspection endpoint, so an
admin names only the server URL and the realm. (The signing keys themselves are fetched by the
data planes from the JWKS URI, which is where tokens are verified.)
"""

from __future__ import annotations

from dataclasses import dataclass

from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError


class KeycloakUnavailable(Exception):
    """The realm's configuration could not be read; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class RealmEndpoints:
    """What a realm publishes that the gateway needs."""

    issuer: str
    jwks_uri: str
    introspection_endpoint: str


def resolve_realm(*, server_url: str, realm: str, timeout: int = 10) -> RealmEndpoints:
    """Read the realm's well-known configuration (raises :class:`KeycloakUnavailable`)."""
    client = KeycloakOpenID(server_url=server_url, realm_name=realm, client_id="mcpgw", timeout=timeout)
    try:
        config = client.well_known()
    except (KeycloakError, OSError, ValueError) as exc:
        raise KeycloakUnavailable(
            f"cannot read realm {realm!r} at {server_url}: {type(exc).__name__}"
        ) from exc
    issuer = config.get("issuer")
    jwks_uri = config.get("jwks_uri")
    if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
        raise KeycloakUnavailable(f"realm {realm!r} at {server_url} publishes no issuer or jwks_uri")
    introspection = config.get("introspection_endpoint")
    return RealmEndpoints(
        issuer=issuer,
        jwks_uri=jwks_uri,
        introspection_endpoint=introspection if isinstance(introspection, str) else "",
    )

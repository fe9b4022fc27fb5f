"""Token checks that need no I/O: peek at a JWT, verify it with a key, check claims, map a principal."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from data_plane.runtime.compiled import Principal
from data_plane.runtime.identity.jwks import VerifyKey
from data_plane.runtime.identity.providers import Provider


@dataclass(frozen=True, slots=True)
class Peeked:
    """A JWT's header and payload, decoded but NOT verified."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a presented token is refused (never holds the token)."""

    reason: str
    insufficient_scope: str = ""
    """The scopes to ask for when the token is valid but lacks some (403)."""


def _b64json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def peek(token: str) -> Peeked | None:
    """Header and payload of something shaped like a compact JWS, else ``None``."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None
    try:
        header, claims = _b64json(parts[0]), _b64json(parts[1])
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) or "alg" not in header:
        return None
    return Peeked(header=header, claims=claims)


def verify_signature(token: str, key: VerifyKey, algorithm: str) -> Mapping[str, Any] | Refusal:
    """The verified claims, or a refusal (the algorithm was allow-listed by the caller)."""
    try:
        return jwt.decode(token, key, algorithms=[algorithm]).claims
    except (JoseError, ValueError) as exc:
        return Refusal(f"token signature does not verify ({type(exc).__name__})")


def check_claims(
    claims: Mapping[str, Any], provider: Provider, *, resource: str, now: float, require_exp: bool = True
) -> Refusal | None:
    """iss, aud (the server's resource URL or a configured audience), exp/nbf/iat with leeway, required claims."""
    if ("iss" in claims or require_exp) and claims.get("iss") != provider.issuer:
        return Refusal("token issuer does not match")
    audience = claims.get("aud")
    if audience is not None or require_exp:
        values = (
            {audience}
            if isinstance(audience, str)
            else set(audience)
            if isinstance(audience, list)
            else set()
        )
        if not values & (provider.audiences | {resource}):
            return Refusal(f"token audience does not include {resource}")
    leeway = provider.leeway_seconds
    times: dict[str, float] = {}
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return Refusal(f"claim {name} is not a number")
        times[name] = float(value)
    exp, nbf, iat = times.get("exp"), times.get("nbf"), times.get("iat")
    if exp is None and require_exp:
        return Refusal("token has no exp claim")
    if exp is not None and exp + leeway <= now:
        return Refusal("token expired")
    if nbf is not None and nbf - leeway > now:
        return Refusal("token not yet valid (nbf)")
    if iat is not None and iat - leeway > now:
        return Refusal("token issued in the future (iat)")
    for name, wanted in provider.required_claims:
        value = claims.get(name)
        if value is None or (wanted != "present" and not _matches(value, wanted)):
            return Refusal(f"required claim {name} is missing or does not match")
    return None


def _matches(value: Any, wanted: str) -> bool:
    """A claim equals the configured text (booleans as ``true``/``false``) or is a list holding it."""
    if isinstance(value, bool):
        return str(value).lower() == wanted
    if isinstance(value, list):
        return wanted in value
    return bool(value == wanted)


def check_scopes(claims: Mapping[str, Any], provider: Provider) -> Refusal | None:
    """Every required scope must be in the token's ``scope`` (space-separated) or ``scp`` claim."""
    if not provider.required_scopes:
        return None
    raw = claims.get("scope", claims.get("scp", ""))
    granted = set(raw.split()) if isinstance(raw, str) else set(raw) if isinstance(raw, list) else set()
    missing = provider.required_scopes - granted
    if missing:
        wanted = " ".join(sorted(provider.required_scopes))
        return Refusal(f"token lacks scope(s): {' '.join(sorted(missing))}", insufficient_scope=wanted)
    return None


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at a dotted ``path`` (``realm_access.roles``), or ``None``."""
    if not path:
        return None
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split()) if " " in value else (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int))
    return ()


def principal_for(claims: Mapping[str, Any], provider: Provider) -> Principal | Refusal:
    """The principal a verified token names: subject, email, groups, roles, team, workspace, IdP."""
    mapping = provider.claims
    subject = claim(claims, mapping.subject)
    if not isinstance(subject, str) or not subject:
        # A client-credentials token may name only its client (RFC 7662 introspection answers).
        subject = claims.get("client_id")
    if not isinstance(subject, str) or not subject:
        return Refusal(f"token has no {mapping.subject} claim")
    email = claim(claims, mapping.email)
    team = claim(claims, mapping.team)
    stable = hashlib.sha256(f"{provider.issuer}\0{subject}".encode()).hexdigest()[:32]
    return Principal(
        key_id=f"idp-{stable}",
        name=subject[:128],
        workspace=provider.workspace,
        expires_at=None,
        servers=_all_tools(provider),
        subject=subject,
        email=email if isinstance(email, str) else "",
        groups=_strings(claim(claims, mapping.groups)),
        roles=_strings(claim(claims, mapping.roles)),
        team=team if isinstance(team, str) else "",
        identity_provider=provider.slug,
    )


def _all_tools(provider: Provider) -> dict[str, frozenset[str] | None]:
    """Until access grants land, an IdP principal may use every tool of its provider's servers."""
    return {slug: None for slug in sorted(provider.servers)}

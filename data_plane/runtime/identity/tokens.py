"""Token checks that need no I/O: peek at a JWT, verify it with a key, check claims, map a principal."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from data_plane.runtime.compiled import Principal
from data_plane.runtime.identity.providers import Provider
from shared.oidc import VerifyKey, claim, claims_problem


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a presented token is refused (never holds the token)."""

    reason: str
    insufficient_scope: str = ""
    """The scopes to ask for when the token is valid but lacks some (403)."""
    unrecognized: bool = False
    """No identity provider recognized the token (unknown issuer, or no introspection endpoint
    said it is active): a workspace's authentication webhook may still know it."""


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
    problem = claims_problem(
        claims,
        issuer=provider.issuer,
        resource=resource,
        audiences=provider.audiences,
        leeway_seconds=provider.leeway_seconds,
        required_claims=provider.required_claims,
        now=now,
        require_exp=require_exp,
    )
    return None if problem is None else Refusal(problem)


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
        subject=subject,
        email=email if isinstance(email, str) else "",
        groups=_strings(claim(claims, mapping.groups)),
        roles=_strings(claim(claims, mapping.roles)),
        team=team if isinstance(team, str) else "",
        identity_provider=provider.slug,
        claims=claims,
    )

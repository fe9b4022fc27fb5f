"""OIDC token checks both planes make without I/O: peek at a JWT, read a JWKS, check the claims.

The data plane checks client tokens presented to an MCP server; the control plane checks the
tokens admins log in with. Both read a provider's signing keys from the same JWKS documents and
apply the same registered-claim rules, so those rules live here once.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey, import_key

logger = logging.getLogger(__name__)

VerifyKey = RSAKey | ECKey | OKPKey
DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_DOCUMENT_BYTES = 1024 * 1024
"""Largest discovery or JWKS document either plane reads."""


@dataclass(frozen=True, slots=True)
class Peeked:
    """A JWT's header and payload, decoded but NOT verified."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]


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


def import_signing_keys(document: Any) -> dict[str, VerifyKey]:
    """Public signing keys of a JWKS document by ``kid`` (encryption, symmetric or broken keys are skipped)."""
    entries = document.get("keys") if isinstance(document, dict) else None
    keys: dict[str, VerifyKey] = {}
    for data in entries if isinstance(entries, list) else []:
        if not isinstance(data, dict) or data.get("use", "sig") != "sig" or data.get("kty") == "oct":
            continue
        try:
            key = import_key(data)
        except (JoseError, ValueError, TypeError, KeyError):
            continue
        if isinstance(key, RSAKey | ECKey | OKPKey) and not key.is_private:
            keys[str(data.get("kid", ""))] = key
    return keys


class DiscoveryError(ValueError):
    """A discovery document that does not name the issuer's JWKS."""


def jwks_uri_of(issuer: str, document: Any) -> str:
    """The ``jwks_uri`` of ``issuer``'s discovery document (raises :class:`DiscoveryError`)."""
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise DiscoveryError("the discovery document names another issuer")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise DiscoveryError("the discovery document has no jwks_uri")
    return jwks_uri


def discovery_url(issuer: str) -> str:
    """Where ``issuer`` publishes its OpenID configuration."""
    return issuer.rstrip("/") + DISCOVERY_PATH


class KeyRing:
    """Issuer -> ``kid`` -> public key, with the refresh bound; the caller does the fetching.

    A refresh of one issuer is allowed at most once per ``min_refresh_seconds``, failures
    included, so tokens with made-up ``kid`` values cannot flood the provider with requests.
    """

    def __init__(self, *, min_refresh_seconds: float, clock: Callable[[], float]) -> None:
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, dict[str, VerifyKey]] = {}
        self._fetched_at: dict[str, float] = {}
        self.jwks_uris: dict[str, str] = {}
        """Issuer -> JWKS URL found by discovery."""
        self.fetches = 0
        """How many JWKS documents were requested (for tests and metrics)."""

    def key(self, issuer: str, kid: str | None) -> VerifyKey | None:
        """The cached key of ``issuer`` named ``kid`` (a lone key when the token names none)."""
        keys = self._keys.get(issuer)
        if not keys:
            return None
        if kid is None:
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)

    def has_keys(self, issuer: str) -> bool:
        """Whether a JWKS of ``issuer`` with at least one usable key is cached."""
        return bool(self._keys.get(issuer))

    def may_refresh(self, issuer: str) -> bool:
        """Whether the bound allows fetching ``issuer``'s keys now."""
        last = self._fetched_at.get(issuer)
        return last is None or self._clock() - last >= self._min_refresh

    def fetching(self, issuer: str) -> None:
        """Record that a fetch of ``issuer``'s keys starts now."""
        self._fetched_at[issuer] = self._clock()
        self.fetches += 1

    def store(self, issuer: str, document: Any) -> None:
        """Keep the signing keys of a fetched JWKS document (none usable: a warning, no keys)."""
        keys = import_signing_keys(document)
        if not keys:
            logger.warning("the JWKS of %s holds no usable signing key", issuer)
        self._keys[issuer] = keys


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


def claims_problem(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    resource: str,
    audiences: Iterable[str],
    leeway_seconds: int,
    required_claims: Iterable[tuple[str, str]],
    now: float,
    require_exp: bool = True,
) -> str | None:
    """Why the claims are refused, or ``None``.

    Checks iss, aud (``resource`` or one of ``audiences``), exp/nbf/iat with leeway, and the
    required claims (``"present"`` or an exact value). ``require_exp=False`` is for introspection
    answers, which may omit iss, aud and exp.
    """
    if ("iss" in claims or require_exp) and claims.get("iss") != issuer:
        return "token issuer does not match"
    audience = claims.get("aud")
    if audience is not None or require_exp:
        values = (
            {audience}
            if isinstance(audience, str)
            else set(audience)
            if isinstance(audience, list)
            else set()
        )
        if not values & ({*audiences} | {resource}):
            return f"token audience does not include {resource}"
    times: dict[str, float] = {}
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"claim {name} is not a number"
        times[name] = float(value)
    exp, nbf, iat = times.get("exp"), times.get("nbf"), times.get("iat")
    if exp is None and require_exp:
        return "token has no exp claim"
    if exp is not None and exp + leeway_seconds <= now:
        return "token expired"
    if nbf is not None and nbf - leeway_seconds > now:
        return "token not yet valid (nbf)"
    if iat is not None and iat - leeway_seconds > now:
        return "token issued in the future (iat)"
    for name, wanted in required_claims:
        value = claims.get(name)
        if value is None or (wanted != "present" and not _matches(value, wanted)):
            return f"required claim {name} is missing or does not match"
    return None


def _matches(value: Any, wanted: str) -> bool:
    """A claim equals the configured text (booleans as ``true``/``false``) or is a list holding it."""
    if isinstance(value, bool):
        return str(value).lower() == wanted
    if isinstance(value, list):
        return wanted in value
    return bool(value == wanted)

"""Admin login with identity-provider tokens: a JWT from a provider with ``admin_login: true``.

The token is checked as the data planes check client tokens (``shared.oidc``): issuer, an
allow-listed asymmetric algorithm, the signature against the issuer's published keys, audience
(the control plane's own URL, or one of the provider's configured audiences), exp/nbf/iat with
the provider's leeway, and its required claims. Its subject (a ``UserIdentity`` of that
provider) or its verified email then names the :class:`User`; nobody else gets in.

Signing keys come from the issuer's ``jwks_uri`` (configured, or discovered from
``/.well-known/openid-configuration``) and are cached. An unknown ``kid`` refetches them, at
most once per ``min_refresh_seconds`` per issuer (failures included), so made-up ``kid`` values
cannot turn into a flood of requests toward the provider. Admin routes run in worker threads,
so fetching is synchronous (httpx) and guarded by a lock per issuer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import func
from sqlmodel import Session, select

from control_plane.db import Database
from control_plane.models import IdentityProvider, User, UserIdentity
from control_plane.models.identity import ClaimMappingModel
from shared.oidc import (
    MAX_DOCUMENT_BYTES,
    DiscoveryError,
    KeyRing,
    Peeked,
    VerifyKey,
    claim,
    claims_problem,
    discovery_url,
    jwks_uri_of,
)
from shared.snapshot import SIGNING_ALGORITHMS

logger = logging.getLogger(__name__)


class LoginRefused(Exception):
    """The token does not log anyone in; ``reason`` is safe to show (it never holds the token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FetchFailed(Exception):
    """A provider document could not be read."""


def fetch_json(url: str, *, timeout_seconds: float = 5.0) -> Any:
    """GET ``url`` and decode its JSON (bounded in time and size; no redirects, no proxy from env)."""
    try:
        with (
            httpx.Client(timeout=timeout_seconds, follow_redirects=False, trust_env=False) as http,
            http.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise FetchFailed(f"GET {url} answered {response.status_code}")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise FetchFailed(f"GET {url}: document too large")
    except httpx.HTTPError as exc:
        raise FetchFailed(f"GET {url} failed: {type(exc).__name__}") from exc
    try:
        return json.loads(body)
    except ValueError as exc:
        raise FetchFailed(f"GET {url}: the answer is not JSON") from exc


class SigningKeys:
    """Issuer -> ``kid`` -> public key, for the identity providers admins log in with.

    Routes run in worker threads: a per-issuer lock makes concurrent logins share one fetch.
    """

    def __init__(
        self,
        *,
        fetch: Callable[[str], Any] = fetch_json,
        min_refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ring = KeyRing(min_refresh_seconds=min_refresh_seconds, clock=clock)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @property
    def fetches(self) -> int:
        """How many JWKS documents were requested (for tests and metrics)."""
        return self._ring.fetches

    def key(self, *, issuer: str, jwks_uri: str, kid: str | None) -> VerifyKey | None:
        """The key named ``kid`` (a lone key when the token names none), fetched if not cached and allowed."""
        found = self._ring.key(issuer, kid)
        if found is not None:
            return found
        with self._lock(issuer):
            found = self._ring.key(issuer, kid)  # another thread may have just fetched it
            if found is None and self._ring.may_refresh(issuer):
                self._refresh(issuer, jwks_uri)
                found = self._ring.key(issuer, kid)
        return found

    def _lock(self, issuer: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(issuer, threading.Lock())

    def _refresh(self, issuer: str, jwks_uri: str) -> None:
        self._ring.fetching(issuer)
        try:
            document = self._fetch(jwks_uri or self._discover(issuer))
        except FetchFailed as exc:
            logger.warning("cannot fetch the signing keys of %s: %s", issuer, exc)
            return
        self._ring.store(issuer, document)

    def _discover(self, issuer: str) -> str:
        cached = self._ring.jwks_uris.get(issuer)
        if cached:
            return cached
        try:
            jwks_uri = jwks_uri_of(issuer, self._fetch(discovery_url(issuer)))
        except DiscoveryError as exc:
            raise FetchFailed(str(exc)) from exc
        self._ring.jwks_uris[issuer] = jwks_uri
        return jwks_uri


@dataclass(frozen=True, slots=True)
class Login:
    """Who a valid IdP token names."""

    user: User
    provider_slug: str


def login(db: Database, peeked: Peeked, token: str, *, keys: SigningKeys, audience: str, now: float) -> Login:
    """The user ``token`` logs in (raises :class:`LoginRefused` with the reason)."""
    algorithm = peeked.header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in SIGNING_ALGORITHMS:
        raise LoginRefused(f"token algorithm {str(algorithm)[:16]!r} is not accepted")
    issuer = peeked.claims.get("iss")
    with db.session() as session:
        provider = _provider(session, issuer)
    if algorithm not in provider.algorithms:
        raise LoginRefused(
            f"token algorithm {algorithm} is not allowed for identity provider {provider.slug}"
        )
    kid = peeked.header.get("kid")
    key = keys.key(
        issuer=provider.issuer, jwks_uri=provider.jwks_uri, kid=kid if isinstance(kid, str) else None
    )
    if key is None:
        raise LoginRefused("token signing key (kid) is not published by the identity provider")
    try:
        claims = jwt.decode(token, key, algorithms=[algorithm]).claims
    except (JoseError, ValueError) as exc:
        raise LoginRefused(f"token signature does not verify ({type(exc).__name__})") from exc
    problem = claims_problem(
        claims,
        issuer=provider.issuer,
        resource=audience,
        audiences=provider.audiences,
        leeway_seconds=provider.leeway_seconds,
        required_claims=provider.required_claims.items(),
        now=now,
    )
    if problem is not None:
        raise LoginRefused(problem)
    with db.session() as session:
        user = _user(session, claims, provider)
    return Login(user=user, provider_slug=provider.slug)


def _provider(session: Session, issuer: Any) -> IdentityProvider:
    """The organization-level provider of ``issuer`` that allows admin login."""
    provider = (
        session.exec(select(IdentityProvider).where(IdentityProvider.issuer == issuer)).first()
        if isinstance(issuer, str)
        else None
    )
    if provider is None or not provider.admin_login or provider.workspace_id is not None:
        raise LoginRefused("token issuer is not an identity provider enabled for admin login")
    return provider


def _user(session: Session, claims: Mapping[str, Any], provider: IdentityProvider) -> User:
    """The user the subject is linked to, else the user with the token's verified email."""
    mapping = ClaimMappingModel.model_validate(provider.claim_mapping)
    subject = claim(claims, mapping.subject)
    if not isinstance(subject, str) or not subject:
        raise LoginRefused(f"token has no {mapping.subject} claim")
    linked = session.exec(
        select(User)
        .join(UserIdentity, UserIdentity.user_id == User.id)  # type: ignore[arg-type]
        .where(UserIdentity.provider_id == provider.id, UserIdentity.subject == subject)
    ).first()
    email = claim(claims, mapping.email)
    verified = claims.get("email_verified") in (True, "true")
    if linked is None and isinstance(email, str) and email and verified:
        linked = session.exec(select(User).where(func.lower(User.email) == email.strip().lower())).first()
    if linked is None:
        if not isinstance(email, str) or not email:
            why = "it carries no email"
        elif not verified:
            why = "its email is not verified (email_verified)"
        else:
            why = "no user has its email"
        raise LoginRefused(
            f"no user matches this token: its subject is linked to no user for identity provider "
            f"{provider.slug}, and {why}"
        )
    if linked.disabled:
        raise LoginRefused(f"user {linked.email} is disabled")
    return linked

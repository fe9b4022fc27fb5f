"""JWKS cache: signing keys per issuer, fetched off the synchronous stage and refreshed on demand.

Lookups are synchronous dict reads. A key that is not cached (first token of an issuer, or an
unknown ``kid`` after a key rotation) makes the verifier ask the chain to await
:meth:`JwksCache.refresh`; refreshes of one issuer are deduplicated and rate-bound (at most one
per ``min_refresh_seconds``, failures included), so a flood of tokens with made-up ``kid``
values cannot turn into a flood of requests toward the provider.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from data_plane.runtime.identity.fetch import IdentityFetchError, IdentityHttp
from data_plane.runtime.identity.providers import Provider
from shared.oidc import DiscoveryError, KeyRing, VerifyKey, discovery_url, jwks_uri_of

logger = logging.getLogger(__name__)


class JwksCache:
    """Issuer -> ``kid`` -> public key, shared by every snapshot of the process."""

    def __init__(
        self,
        http: IdentityHttp,
        *,
        min_refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._ring = KeyRing(min_refresh_seconds=min_refresh_seconds, clock=clock)
        self._inflight: dict[str, asyncio.Task[None]] = {}

    @property
    def fetches(self) -> int:
        """How many JWKS documents were requested (for tests and metrics)."""
        return self._ring.fetches

    def key(self, issuer: str, kid: str | None) -> VerifyKey | None:
        """The cached key of ``issuer`` named ``kid`` (a lone key when the token names none)."""
        return self._ring.key(issuer, kid)

    def has_keys(self, issuer: str) -> bool:
        """Whether signing keys of ``issuer`` are cached."""
        return self._ring.has_keys(issuer)

    def may_refresh(self, issuer: str) -> bool:
        """Whether a refresh of ``issuer`` is allowed now (or one is already under way)."""
        return issuer in self._inflight or self._ring.may_refresh(issuer)

    async def refresh(self, provider: Provider) -> None:
        """Fetch the provider's JWKS unless the rate bound forbids it; never raises for I/O."""
        issuer = provider.issuer
        task = self._inflight.get(issuer)
        if task is None:
            if not self._ring.may_refresh(issuer):
                return
            self._ring.fetching(issuer)
            task = asyncio.create_task(self._fetch(provider), name=f"jwks {issuer}")
            self._inflight[issuer] = task
            task.add_done_callback(lambda _t: self._inflight.pop(issuer, None))
        # shield: a client that goes away must not cancel the fetch other requests wait on.
        await asyncio.shield(task)

    async def _fetch(self, provider: Provider) -> None:
        try:
            jwks_uri = provider.jwks_uri or await self._discover(provider.issuer)
            document = await self._http.get_json(jwks_uri)
        except IdentityFetchError as exc:
            logger.warning("cannot fetch the signing keys of %s: %s", provider.issuer, exc)
            return
        self._ring.store(provider.issuer, document)

    async def _discover(self, issuer: str) -> str:
        cached = self._ring.jwks_uris.get(issuer)
        if cached:
            return cached
        try:
            jwks_uri = jwks_uri_of(issuer, await self._http.get_json(discovery_url(issuer)))
        except DiscoveryError as exc:
            raise IdentityFetchError(str(exc)) from exc
        self._ring.jwks_uris[issuer] = jwks_uri
        return jwks_uri

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
from shared.oidc import DISCOVERY_PATH, VerifyKey, import_signing_keys

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
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, dict[str, VerifyKey]] = {}
        self._jwks_uris: dict[str, str] = {}
        self._fetched_at: dict[str, float] = {}
        self._inflight: dict[str, asyncio.Task[None]] = {}
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

    def may_refresh(self, issuer: str) -> bool:
        """Whether a refresh of ``issuer`` is allowed now (or one is already under way)."""
        if issuer in self._inflight:
            return True
        last = self._fetched_at.get(issuer)
        return last is None or self._clock() - last >= self._min_refresh

    async def refresh(self, provider: Provider) -> None:
        """Fetch the provider's JWKS unless the rate bound forbids it; never raises for I/O."""
        issuer = provider.issuer
        task = self._inflight.get(issuer)
        if task is None:
            if not self.may_refresh(issuer):
                return
            self._fetched_at[issuer] = self._clock()
            task = asyncio.create_task(self._fetch(provider), name=f"jwks {issuer}")
            self._inflight[issuer] = task
            task.add_done_callback(lambda _t: self._inflight.pop(issuer, None))
        # shield: a client that goes away must not cancel the fetch other requests wait on.
        await asyncio.shield(task)

    async def _fetch(self, provider: Provider) -> None:
        self.fetches += 1
        try:
            jwks_uri = provider.jwks_uri or await self._discover(provider)
            document = await self._http.get_json(jwks_uri)
        except IdentityFetchError as exc:
            logger.warning("cannot fetch the signing keys of %s: %s", provider.issuer, exc)
            return
        keys = import_signing_keys(document)
        if not keys:
            logger.warning("the JWKS of %s holds no usable signing key", provider.issuer)
        self._keys[provider.issuer] = keys

    async def _discover(self, provider: Provider) -> str:
        cached = self._jwks_uris.get(provider.issuer)
        if cached:
            return cached
        document = await self._http.get_json(provider.issuer.rstrip("/") + DISCOVERY_PATH)
        if not isinstance(document, dict) or document.get("issuer") != provider.issuer:
            raise IdentityFetchError("the discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise IdentityFetchError("the discovery document has no jwks_uri")
        self._jwks_uris[provider.issuer] = jwks_uri
        return jwks_uri

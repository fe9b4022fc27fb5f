"""RFC 7662 token introspection for opaque tokens, with a bounded cache.

An answer is cached by SHA-256 of (issuer, token) — never the token itself — for the token's
lifetime (``exp``, at most ``max_ttl_seconds``); inactive answers and failures for a short
``negative_ttl_seconds``. The cache holds at most ``capacity`` entries, oldest evicted first.

Concurrent requests presenting the same token share one call (single flight), and at most
``max_concurrent`` calls per provider are in flight at once (the others wait their turn), so a
burst of new opaque tokens cannot turn into a burst of requests toward the provider.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from data_plane.runtime.identity.fetch import IdentityFetchError, IdentityHttp
from data_plane.runtime.identity.providers import Provider

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Introspected:
    """What the provider said: active with claims, inactive, or unreachable."""

    active: bool
    claims: dict[str, Any]
    failed: bool = False


class IntrospectionCache:
    """Introspection answers by token digest, bounded in size and time."""

    def __init__(
        self,
        http: IdentityHttp,
        *,
        capacity: int = 10_000,
        max_ttl_seconds: float = 300.0,
        negative_ttl_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
        max_concurrent: int = 8,
    ) -> None:
        self._http = http
        self._max_concurrent = max_concurrent
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, int] = {}
        self.calls = 0
        """Introspection requests sent (for tests and metrics)."""
        self.peak_concurrency = 0
        """The most calls toward one provider that were in flight at once."""
        self._capacity = capacity
        self._max_ttl = max_ttl_seconds
        self._negative_ttl = negative_ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Introspected]] = OrderedDict()

    def get(self, provider: Provider, token: str) -> Introspected | None:
        """The cached answer, or ``None`` when the provider must be asked."""
        digest = _digest(provider.issuer, token)
        found = self._entries.get(digest)
        if found is None:
            return None
        expires, answer = found
        if expires <= self._clock():
            del self._entries[digest]
            return None
        return answer

    async def introspect(self, provider: Provider, token: str) -> None:
        """Ask the provider and cache the answer (failures are cached briefly, never raised);
        concurrent calls for the same token share one request."""
        digest = _digest(provider.issuer, token)
        task = self._inflight.get(digest)
        if task is None:
            task = asyncio.create_task(self._ask(provider, token), name="introspection")
            self._inflight[digest] = task
            task.add_done_callback(lambda _t: self._inflight.pop(digest, None))
        # shield: a client that goes away must not cancel the call other requests wait on.
        await asyncio.shield(task)

    async def _ask(self, provider: Provider, token: str) -> None:
        limit = self._limits.get(provider.issuer)
        if limit is None:
            limit = self._limits[provider.issuer] = asyncio.Semaphore(self._max_concurrent)
        async with limit:
            running = self._running.get(provider.issuer, 0) + 1
            self._running[provider.issuer] = running
            self.peak_concurrency = max(self.peak_concurrency, running)
            try:
                await self._call(provider, token)
            finally:
                self._running[provider.issuer] -= 1

    async def _call(self, provider: Provider, token: str) -> None:
        form = {"token": token, "token_type_hint": "access_token"}
        auth = (provider.introspection_client_id, provider.introspection_secret)
        self.calls += 1
        try:
            document = await self._http.post_form(provider.introspection_endpoint, form, auth)
        except IdentityFetchError as exc:
            logger.warning("introspection at %s failed: %s", provider.issuer, exc)
            self._store(provider, token, Introspected(False, {}, failed=True), None)
            return
        if not isinstance(document, dict) or document.get("active") is not True:
            self._store(provider, token, Introspected(False, {}), None)
            return
        exp = document.get("exp")
        self._store(provider, token, Introspected(True, document), exp if isinstance(exp, int) else None)

    def _store(self, provider: Provider, token: str, answer: Introspected, exp: int | None) -> None:
        now = self._clock()
        ttl = self._max_ttl if answer.active else self._negative_ttl
        expires = now + ttl if exp is None else min(float(exp), now + ttl)
        digest = _digest(provider.issuer, token)
        self._entries[digest] = (expires, answer)
        self._entries.move_to_end(digest)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)


def _digest(issuer: str, token: str) -> str:
    return hashlib.sha256(f"{issuer}\0{token}".encode()).hexdigest()

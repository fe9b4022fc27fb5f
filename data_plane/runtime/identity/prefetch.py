"""JWKS prefetch: when a snapshot is swapped in, fetch the signing keys of its identity providers
in the background, so the first token of an issuer does not wait for them.

At most ``concurrency`` fetches run at once; a failure is logged by the JWKS cache and is not
fatal (the first request then fetches as before, within the cache's refresh bound). Issuers
whose keys are cached are skipped. Snapshots swapped in before :meth:`start` (the boot snapshot,
read before the HTTP session exists) are remembered and prefetched once started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from data_plane.runtime.compiled import CompiledSnapshot
from data_plane.runtime.identity.jwks import JwksCache
from data_plane.runtime.identity.providers import Provider

logger = logging.getLogger(__name__)


class JwksPrefetcher:
    """Fills the JWKS cache for every identity provider of each new snapshot."""

    def __init__(self, jwks: JwksCache, *, concurrency: int = 4) -> None:
        self._jwks = jwks
        self._limit = asyncio.Semaphore(concurrency)
        self._started = False
        self._latest: CompiledSnapshot | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def on_swap(self, snapshot: CompiledSnapshot) -> None:
        """The snapshot store's listener: prefetch ``snapshot``'s providers (once started)."""
        self._latest = snapshot
        if self._started:
            self._schedule(snapshot)

    def start(self) -> None:
        """Begin prefetching (the identity HTTP session is up), first for the current snapshot."""
        self._started = True
        if self._latest is not None:
            self._schedule(self._latest)

    async def close(self) -> None:
        """Stop prefetches still running."""
        self._started = False
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def idle(self) -> None:
        """Wait until every prefetch scheduled so far has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _schedule(self, snapshot: CompiledSnapshot) -> None:
        missing = [p for p in snapshot.identity.by_issuer.values() if not self._jwks.has_keys(p.issuer)]
        if not missing:
            return
        task = asyncio.get_running_loop().create_task(self._fetch_all(missing), name="jwks prefetch")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch_all(self, providers: list[Provider]) -> None:
        await asyncio.gather(*(self._fetch(provider) for provider in providers))
        logger.debug("prefetched the signing keys of %d identity provider(s)", len(providers))

    async def _fetch(self, provider: Provider) -> None:
        async with self._limit:
            await self._jwks.refresh(provider)  # logs and swallows I/O failures

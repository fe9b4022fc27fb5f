"""The stdio host: every message-stream pool of this data plane and the unix socket reaching them.

Stdio pools (launched processes) and legacy HTTP+SSE pools (``runtime/sse_upstream``, long-lived
GET streams) are served alike; the SSE pools share one aiohttp session of the host's own.

The socket lives in a fresh directory only this user may enter (mode 0700), so nothing else on
the machine can talk to the pools past the gateway's stages. Pools follow the snapshot: the
store calls :meth:`StdioHost.reconcile` after every swap; a server whose launch changed (or
that is gone) has its old pool stopped, and a new pool starts for the new launch. Pools of
unchanged servers, and their sessions, live on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from data_plane.runtime.sse_upstream.pool import SsePool
from data_plane.runtime.stdio.endpoint import build_app
from data_plane.runtime.stdio.pool import StdioPool

if TYPE_CHECKING:
    from data_plane.runtime.compiled import CompiledSnapshot

logger = logging.getLogger(__name__)

STOP_SECONDS = 10.0


class StdioHost:
    """Owns the pools (by server slug and launch fingerprint) and serves them on a unix socket."""

    def __init__(self) -> None:
        # Decided now (the upstream client needs it), created at start: a random name in the
        # temporary directory keeps the path short (unix socket paths are ~100 bytes at most).
        self._directory = Path(tempfile.gettempdir()) / f"mcpgw-stdio-{secrets.token_hex(8)}"
        self.socket_path = self._directory / "pools.sock"
        self._pools: dict[tuple[str, str], StdioPool | SsePool] = {}
        self._http: aiohttp.ClientSession | None = None
        self._latest: CompiledSnapshot | None = None
        self._runner: web.AppRunner | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def pool(self, slug: str, fingerprint: str) -> StdioPool | SsePool | None:
        """The pool of ``slug`` running the launch (or SSE target) ``fingerprint``, if any."""
        return self._pools.get((slug, fingerprint))

    def pools(self) -> list[StdioPool]:
        """Every running stdio pool."""
        return [pool for pool in self._pools.values() if isinstance(pool, StdioPool)]

    def sse_pools(self) -> list[SsePool]:
        """Every legacy SSE pool."""
        return [pool for pool in self._pools.values() if isinstance(pool, SsePool)]

    async def start(self) -> None:
        """Create the socket directory, serve the pools, start those of the current snapshot."""
        self._directory.mkdir(mode=0o700)  # fails if it exists: nobody else prepared it for us
        # Handlers end when the upstream client hangs up; a short shutdown bound covers the rest.
        self._runner = web.AppRunner(
            build_app(self.pool), access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await self._runner.setup()
        # SSE streams are long-lived: no connection cap, no cookies, no proxy from the environment.
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        await web.UnixSite(self._runner, str(self.socket_path)).start()
        self.socket_path.chmod(0o600)
        self.reconcile(self._latest)

    def reconcile(self, snapshot: CompiledSnapshot | None) -> None:
        """Make the pools match ``snapshot``'s stdio servers (the store calls it after a swap)."""
        self._latest = snapshot
        if self._runner is None or self._http is None or snapshot is None:
            return
        wanted: dict[tuple[str, str], Callable[[], StdioPool | SsePool]] = {}
        for slug, upstream in snapshot.hosted.items():
            if upstream.stdio is not None:
                wanted[(slug, upstream.stdio.fingerprint)] = partial(StdioPool, slug, upstream.stdio)
            elif upstream.sse is not None:
                wanted[(slug, upstream.sse.fingerprint)] = partial(SsePool, slug, upstream.sse, self._http)
        for key in [key for key in self._pools if key not in wanted]:
            retired = self._pools.pop(key)
            logger.info("server %r changed or removed: stopping its processes or streams", retired.slug)
            task = asyncio.create_task(retired.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        for key, make in wanted.items():
            if key not in self._pools:
                pool = make()
                pool.start()
                self._pools[key] = pool

    async def close(self) -> None:
        """Stop serving, stop every process, remove the socket directory."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        pools, self._pools = list(self._pools.values()), {}
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_SECONDS):
                await asyncio.gather(*(pool.close() for pool in pools), *self._closing)
        if self._http is not None:
            await self._http.close()
            self._http = None
        shutil.rmtree(self._directory, ignore_errors=True)

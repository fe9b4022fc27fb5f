"""Blocking database work run in worker threads, tracked so shutdown can wait for it.

Cancelling an ``asyncio.to_thread`` await does not stop the thread: the work goes on and may
still hold a pooled connection when the database is disposed. Every such call made by
distribution goes through :class:`InflightWork`, and ``Distribution.stop`` drains it before the
database is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

_T = TypeVar("_T")


class InflightWork:
    """Runs callables in worker threads and remembers the ones not finished yet."""

    def __init__(self) -> None:
        self._futures: set[asyncio.Future[Any]] = set()

    async def run(self, work: Callable[[], _T]) -> _T:
        """Run ``work`` in a thread; a cancelled caller leaves it running but tracked."""
        future: asyncio.Future[_T] = asyncio.ensure_future(asyncio.to_thread(work))
        self._futures.add(future)
        future.add_done_callback(self._finished)
        return await asyncio.shield(future)

    @property
    def pending(self) -> int:
        """How many calls have not finished yet."""
        return len(self._futures)

    async def drain(self) -> None:
        """Wait for every thread still running (bound the wait with ``asyncio.timeout``)."""
        while self._futures:
            await asyncio.wait(set(self._futures))

    def _finished(self, future: asyncio.Future[Any]) -> None:
        self._futures.discard(future)
        if not future.cancelled() and future.exception() is not None:
            # Its caller may have been cancelled and never see it; the caller logs when it does.
            logger.debug("background database call failed: %r", future.exception())

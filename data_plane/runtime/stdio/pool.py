"""The bounded pool of processes of one stdio server (one launch) on this data plane.

A process is one MCP connection, and the protocol era is decided by its first message, so a
process serves one of two uses for its whole life:

* **shared**: 2026-07-28 requests (no session, each request carries its own envelope). Any
  shared process serves any of them; a request goes to the least loaded one, and a new process
  is started when all are busy and the pool has room.
* **session**: a legacy session. The client's own ``initialize`` goes to a process nobody used
  yet, which then belongs to that session until it ends (DELETE, idle timeout, crash). Its
  session id, sealed into the client's token by the upstream stage, names that process.

``min_processes`` are kept started and unused ("fresh", ready for either use);
``max_processes`` bounds every process of the pool. A process unused for
``idle_timeout_seconds`` is stopped (a session bound to it ends; shared and fresh ones only
above the minimum). A process that exits on its own is a crash: its requests get errors (see
:mod:`channel`) and the next start waits an exponential backoff, reset once a process served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from data_plane.runtime.backoff import Backoff
from data_plane.runtime.stdio.channel import Channel, Kind
from data_plane.runtime.stdio.launch import StdioLaunch
from data_plane.runtime.stdio.process import StdioProcess

logger = logging.getLogger(__name__)

SHARED_CONCURRENCY = 4
"""Requests one shared process takes at once before the pool prefers starting another."""


class PoolExhausted(Exception):
    """Every process the pool may run is bound to a session or busy; the message says which."""


class SpawnFailed(Exception):
    """The command could not be started; the message says why (never an env value)."""


class StdioPool:
    """Processes of one stdio server: acquisition, bounds, idle stop, crash backoff."""

    def __init__(
        self,
        slug: str,
        launch: StdioLaunch,
        *,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slug = slug
        self.launch = launch
        self._backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._clock = clock
        self.channels: list[Channel[StdioProcess]] = []
        self._sessions: dict[str, Channel[StdioProcess]] = {}
        self._starting = 0
        self._not_before = 0.0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._closed = False
        self._supervisor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._numbers = iter(range(1, 1 << 62))
        self.changed = asyncio.Condition()
        """Notified whenever a process starts or ends (tests and health wait on it)."""

    def start(self) -> None:
        """Start supervising: warm processes up to the minimum, idle stop, restarts."""
        self._supervisor = asyncio.create_task(self._supervise(), name=f"stdio-pool {self.slug}")

    async def close(self) -> None:
        """Stop every process of the pool (its sessions end)."""
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await asyncio.gather(*(channel.process.stop() for channel in list(self.channels)))
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def session(self, session_id: str) -> Channel[StdioProcess] | None:
        """The live process bound to ``session_id``, or ``None`` (ended, crashed, elsewhere)."""
        channel = self._sessions.get(session_id)
        return channel if channel is not None and channel.alive else None

    async def end_session(self, session_id: str) -> bool:
        """Stop the process of ``session_id``; False when there is no such session here."""
        channel = self._sessions.pop(session_id, None)
        if channel is None:
            return False
        await channel.process.stop()
        return True

    async def open_session(self, headers: Mapping[str, str] | None = None) -> Channel[StdioProcess]:
        """A process nobody used yet, bound to a new session; :class:`PoolExhausted`, :class:`SpawnFailed`.

        ``headers`` (the upstream request headers) mean nothing to a process.
        """
        async with self._lock:
            channel = self._fresh()
            if channel is None:
                if self._room() == 0:
                    idle = [c for c in self._alive("shared") if not c.busy]
                    if not idle:
                        raise PoolExhausted(
                            f"all {self.launch.max_processes} processes of stdio server "
                            f"'{self.slug}' are in use (max_processes)"
                        )
                    self._retire(idle[0])  # makes room for the session
                self._starting += 1
            else:
                channel.kind = "session"
        if channel is None:
            channel = await self._launch("session")
        channel.session_id = secrets.token_urlsafe(18)
        self._sessions[channel.session_id] = channel
        logger.debug("%s serves session %s…", channel.process.label, channel.session_id[:6])
        return channel

    async def shared(self, headers: Mapping[str, str] | None = None) -> Channel[StdioProcess]:
        """A process for a request without session (2026-07-28 era); ``headers`` are not used."""
        async with self._lock:
            shared = sorted(self._alive("shared"), key=lambda c: c.load)
            if shared and shared[0].load < SHARED_CONCURRENCY:
                return shared[0]
            channel = self._fresh()
            if channel is not None:
                channel.kind = "shared"
                return channel
            if self._room() == 0:
                if shared:
                    return shared[0]
                raise PoolExhausted(
                    f"all {self.launch.max_processes} processes of stdio server '{self.slug}' "
                    "are bound to sessions (max_processes)"
                )
            self._starting += 1
        return await self._launch("shared")

    async def release(self, channel: Channel[StdioProcess]) -> None:
        """A request without session was answered on ``channel``: the process stays for the next."""

    def _alive(self, kind: Kind) -> list[Channel[StdioProcess]]:
        return [c for c in self.channels if c.kind == kind and c.alive]

    def _fresh(self) -> Channel[StdioProcess] | None:
        return next(iter(self._alive("fresh")), None)

    def _room(self) -> int:
        running = sum(1 for c in self.channels if c.alive)
        return max(0, self.launch.max_processes - running - self._starting)

    async def _launch(self, kind: Kind) -> Channel[StdioProcess]:
        """Start one process for ``kind`` (after the crash backoff); the caller reserved its slot.

        The kind is set before the process joins the pool, so no other request can take it.
        """
        try:
            delay = self._not_before - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            label = f"stdio {self.slug}#{next(self._numbers)}"
            channel: Channel[StdioProcess] = Channel(
                lambda on_message, on_exit: StdioProcess(
                    self.launch, label=label, on_message=on_message, on_exit=on_exit
                ),
                on_gone=self._gone,
            )
            channel.kind = kind
            # Shielded: a caller that goes away mid-launch must not leave an untracked process;
            # the process then joins the pool unassigned (and idles out above the minimum).
            starting = asyncio.create_task(self._start(channel))
            self._tasks.add(starting)
            starting.add_done_callback(self._tasks.discard)
            try:
                problem = await asyncio.shield(starting)
            except asyncio.CancelledError:
                channel.kind = "fresh"  # its caller is gone: free for anyone
                raise
        finally:
            self._starting -= 1
        if problem is not None:
            raise SpawnFailed(f"the stdio server '{self.slug}' cannot be started: {problem}")
        return channel

    async def _start(self, channel: Channel[StdioProcess]) -> str | None:
        """Start ``channel``'s process and add it to the pool; why it failed, else ``None``."""
        try:
            await channel.process.start()
        except (OSError, ValueError) as exc:
            self._crashed()
            logger.warning("stdio server %r cannot be started: %s", self.slug, exc)
            return str(exc)
        if self._closed:
            await channel.process.stop()
            return "the pool is closing"
        self.channels.append(channel)
        await self._notify()
        return None

    def _gone(self, channel: Channel[StdioProcess]) -> None:
        with contextlib.suppress(ValueError):
            self.channels.remove(channel)
        if channel.session_id:
            self._sessions.pop(channel.session_id, None)
        if not channel.process.stopping:
            if channel.served:
                self._backoff.reset()
            self._crashed()
        self._wake.set()
        self._spawn_task(self._notify())

    def _retire(self, channel: Channel[StdioProcess]) -> None:
        """Stop ``channel`` in the background; it stops counting as alive at once."""
        channel.process.stopping = True
        self._spawn_task(channel.process.stop())

    def _crashed(self) -> None:
        self._not_before = self._clock() + self._backoff.next()

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def _spawn_task(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _supervise(self) -> None:
        while not self._closed:
            self._wake.clear()
            wait = self._stop_idle()
            warm = len(self._alive("fresh")) + len(self._alive("shared"))
            if warm < self.launch.min_processes and self._room() > 0:
                self._starting += 1
                with contextlib.suppress(SpawnFailed):  # logged; the backoff delays the next try
                    await self._launch("fresh")
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _stop_idle(self) -> float:
        """Stop processes idle too long; returns the seconds until the next one may be."""
        now = self._clock()
        idle_after = self.launch.idle_timeout_seconds
        warm = len(self._alive("fresh")) + len(self._alive("shared"))
        wait = idle_after
        for channel in [c for c in self.channels if c.alive and not c.busy]:
            left = channel.last_used + idle_after - now
            if left > 0:
                wait = min(wait, left)
                continue
            if channel.kind == "session":
                logger.debug("%s: session idle for %gs; stopping", channel.process.label, idle_after)
                self._retire(channel)
            elif warm > self.launch.min_processes:
                warm -= 1
                self._retire(channel)
        return max(wait, 0.05)

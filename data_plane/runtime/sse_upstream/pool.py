"""The connections of one legacy HTTP+SSE server on this data plane.

A legacy SSE session is one long-lived GET stream, like a stdio process is one pipe, so it is
served the same way: a :class:`~data_plane.runtime.stdio.channel.Channel` over an
:class:`~.connection.SseConnection`, reached through the stdio host's Streamable HTTP face.

* **session**: a client's ``initialize`` opens a connection of its own (GET with the headers
  of that request), bound to the session until DELETE, idle timeout or the stream dropping.
  Its random id is the upstream session id the upstream stage seals into the client's token.
* **per request**: a request without a session (the 2026-07-28 era) gets a connection for
  itself, closed once it is answered. Connections are never shared between requests, so
  the GET always carries the credentials and identity of the one caller it serves.

A server-side drop ends the session: requests in flight get a JSON-RPC error at once and the
session's next request gets 404 (the client re-initializes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Mapping

import aiohttp

from data_plane.runtime.sse_upstream.connection import SseConnection, SseTarget, SseUnavailable
from data_plane.runtime.stdio.channel import Channel
from data_plane.runtime.stdio.pool import PoolExhausted, SpawnFailed

logger = logging.getLogger(__name__)

MAX_CONNECTIONS = 1024
"""Connections one SSE server may hold open per data plane (sessions and requests in flight)."""
IDLE_SECONDS = 1800.0
"""A session with no request in flight and no GET stream open this long is closed."""

SseChannel = Channel[SseConnection]


class SsePool:
    """Connections of one legacy SSE server: sessions, per-request connections, idle close."""

    def __init__(
        self,
        slug: str,
        target: SseTarget,
        http: aiohttp.ClientSession,
        *,
        idle_seconds: float = IDLE_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.slug = slug
        self.target = target
        self._http = http
        self._idle_seconds = idle_seconds
        self._max = max_connections
        self.channels: list[SseChannel] = []
        self._sessions: dict[str, SseChannel] = {}
        self._numbers = iter(range(1, 1 << 62))
        self._supervisor: asyncio.Task[None] | None = None
        self._notes: set[asyncio.Task[None]] = set()
        self.changed = asyncio.Condition()
        """Notified whenever a connection opens or ends (tests wait on it)."""

    def start(self) -> None:
        """Start closing idle sessions."""
        self._supervisor = asyncio.create_task(self._close_idle(), name=f"sse-pool {self.slug}")

    async def close(self) -> None:
        """Close every connection (their sessions end)."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await asyncio.gather(*(channel.process.stop() for channel in list(self.channels)))

    def session(self, session_id: str) -> SseChannel | None:
        """The live connection of ``session_id``, or ``None`` (ended, dropped, elsewhere)."""
        channel = self._sessions.get(session_id)
        return channel if channel is not None and channel.alive else None

    async def end_session(self, session_id: str) -> bool:
        """Close the connection of ``session_id``; False when there is no such session here."""
        channel = self._sessions.pop(session_id, None)
        if channel is None:
            return False
        await channel.process.stop()
        return True

    async def open_session(self, headers: Mapping[str, str] | None = None) -> SseChannel:
        """A new connection bound to a new session; :class:`PoolExhausted`, :class:`SpawnFailed`."""
        channel = await self._connect(headers or {})
        channel.kind = "session"
        channel.session_id = secrets.token_urlsafe(18)
        self._sessions[channel.session_id] = channel
        return channel

    async def shared(self, headers: Mapping[str, str] | None = None) -> SseChannel:
        """A connection for one request without session, closed by :meth:`release`."""
        channel = await self._connect(headers or {})
        channel.kind = "shared"
        return channel

    async def release(self, channel: SseChannel) -> None:
        """The request a per-request connection served was answered: close it."""
        if channel.kind == "shared":
            await channel.process.stop()

    async def _connect(self, headers: Mapping[str, str]) -> SseChannel:
        if len(self.channels) >= self._max:
            raise PoolExhausted(
                f"SSE server '{self.slug}' has {self._max} connections open on this data plane"
            )
        label = f"sse {self.slug}#{next(self._numbers)}"
        channel: SseChannel = Channel(
            lambda on_message, on_exit: SseConnection(
                self.target, self._http, label=label, on_message=on_message, on_exit=on_exit
            ),
            on_gone=self._gone,
            what="the SSE server",
        )
        self.channels.append(channel)
        try:
            await channel.process.start(headers)
        except SseUnavailable as exc:
            self.channels.remove(channel)
            logger.warning("SSE server %r cannot be reached: %s", self.slug, exc)
            raise SpawnFailed(f"the SSE server '{self.slug}' cannot be reached: {exc}") from exc
        except BaseException:
            self.channels.remove(channel)
            await channel.process.stop()
            raise
        await self._notify()
        return channel

    def _gone(self, channel: SseChannel) -> None:
        with contextlib.suppress(ValueError):
            self.channels.remove(channel)
        if channel.session_id:
            self._sessions.pop(channel.session_id, None)
        task = asyncio.get_running_loop().create_task(self._notify())
        self._notes.add(task)
        task.add_done_callback(self._notes.discard)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def _close_idle(self) -> None:
        while True:
            now = time.monotonic()
            wait = self._idle_seconds
            for channel in [c for c in self._sessions.values() if not c.busy]:
                left = channel.last_used + self._idle_seconds - now
                if left <= 0:
                    logger.debug(
                        "%s: session idle for %gs; closing", channel.process.label, self._idle_seconds
                    )
                    await self.end_session(channel.session_id)
                else:
                    wait = min(wait, left)
            await asyncio.sleep(max(wait, 0.05))

"""One legacy HTTP+SSE (MCP 2024-11-05) connection to an upstream server.

``GET <url>`` opens the event stream; its first ``endpoint`` event names the URL to POST
messages to, resolved against the stream's URL and refused unless it has the same origin
(scheme, host, port), so a server cannot send the gateway's credentials elsewhere. Every
JSON-RPC message then goes up as a POST there (answered 202); answers and server messages come
down the stream as ``message`` events. The stream has a bounded connect and no read bound,
so a quiet stream is never cut; each POST has the server's timeout.

The GET carries the headers of the request that opened the connection, each POST those of the
request carrying its message: both are the upstream stage's headers (static headers, bearer
or API key, client-credentials token, identity), never the client's own ``Authorization``.
Query parameters of the configured URL (an API key in the query) go on the POSTs too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
import orjson
from yarl import URL

from data_plane.runtime.sse_events import SseParser, SseTooLarge
from data_plane.runtime.stdio.channel import MessageRefused
from data_plane.runtime.stdio.launch import STDIO_ORIGIN
from data_plane.runtime.stdio.process import Message, ProcessGone
from shared.snapshot.canonical import canonical_bytes

logger = logging.getLogger(__name__)

_FINGERPRINT_KEY = os.urandom(32)
"""Keys the target fingerprint: it covers an API key in the URL and need only be stable here."""


class SseUnavailable(Exception):
    """The connection could not be opened; the message says why (never a header or the URL)."""


@dataclass(frozen=True, slots=True)
class SseTarget:
    """A legacy SSE server as a data plane reaches it, compiled once per snapshot."""

    url: str = field(repr=False)
    """The SSE URL, an API key in the query applied: never logged (``repr=False``)."""
    connect_timeout: float
    timeout_seconds: float
    """Bound on each POST's answer and on the wait for the ``endpoint`` event."""
    fingerprint: str = field(repr=False)
    """Digest of everything above: a changed target is a new pool (connections are not reused)."""


def sse_target(slug: str, url: str, timeout_seconds: float, connect_timeout: float) -> SseTarget:
    """The target of a legacy SSE server (``url`` with its credential applied), fingerprinted."""
    digest = hashlib.blake2b(
        canonical_bytes([slug, url, timeout_seconds, connect_timeout]), key=_FINGERPRINT_KEY, digest_size=16
    ).hexdigest()
    return SseTarget(
        url=url, connect_timeout=connect_timeout, timeout_seconds=timeout_seconds, fingerprint=digest
    )


def sse_pool_url(slug: str, target: SseTarget) -> str:
    """The internal URL the upstream stage calls for ``slug`` (its pool on the stdio host)."""
    return f"{STDIO_ORIGIN}/{slug}/{target.fingerprint}/mcp"


def post_url(stream_url: URL, endpoint: str) -> URL:
    """The message URL an ``endpoint`` event names; ``ValueError`` unless it is same-origin.

    Query parameters of the stream URL that the endpoint lacks (an API key) are added.
    """
    resolved = stream_url.join(URL(endpoint))
    if (resolved.scheme, resolved.host, resolved.port) != (
        stream_url.scheme,
        stream_url.host,
        stream_url.port,
    ):
        raise ValueError("the SSE server named a message endpoint on another origin")
    missing = {name: value for name, value in stream_url.query.items() if name not in resolved.query}
    return resolved.update_query(missing) if missing else resolved


class SseConnection:
    """The message stream of one upstream SSE session (see :mod:`..stdio.channel`)."""

    def __init__(
        self,
        target: SseTarget,
        http: aiohttp.ClientSession,
        *,
        label: str,
        on_message: Callable[[Message], None],
        on_exit: Callable[[], None],
    ) -> None:
        self.target = target
        self.label = label
        self._http = http
        self._on_message = on_message
        self._on_exit = on_exit
        self._stream: aiohttp.ClientResponse | None = None
        self._endpoint: URL | None = None
        self._reader: asyncio.Task[None] | None = None
        self._post_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=target.connect_timeout, sock_read=target.timeout_seconds
        )
        self.exited = asyncio.Event()
        """Set once the stream is gone (closed by either side, or never opened)."""
        self.stopping = False
        """True once :meth:`stop` was called: its end is not a crash."""

    async def start(self, headers: Mapping[str, str]) -> None:
        """Open the stream and wait for its ``endpoint`` event; :class:`SseUnavailable` if not."""
        parser = SseParser()
        stream_timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.target.connect_timeout)
        try:
            async with asyncio.timeout(self.target.connect_timeout + self.target.timeout_seconds):
                self._stream = await self._http.get(
                    self.target.url,
                    headers={**headers, "Accept": "text/event-stream"},
                    timeout=stream_timeout,
                    allow_redirects=False,
                )
                if self._stream.status != 200:
                    raise SseUnavailable(f"the SSE server answered HTTP {self._stream.status} to the GET")
                if not self._stream.headers.get("Content-Type", "").startswith("text/event-stream"):
                    raise SseUnavailable("the SSE server did not answer with an event stream")
                while self._endpoint is None:
                    chunk = await self._stream.content.readany()
                    if not chunk:
                        raise SseUnavailable("the SSE stream ended before its endpoint event")
                    self._deliver(parser, chunk)
        except TimeoutError as exc:
            self._abort()
            raise SseUnavailable("the SSE server did not announce its message endpoint in time") from exc
        except (aiohttp.ClientError, SseTooLarge) as exc:
            self._abort()
            raise SseUnavailable(f"cannot open the SSE stream: {type(exc).__name__}") from exc
        except (SseUnavailable, ValueError):
            self._abort()
            raise
        self._reader = asyncio.create_task(self._read(parser), name=f"sse-in {self.label}")

    def _deliver(self, parser: SseParser, chunk: bytes) -> None:
        for event in parser.feed(chunk):
            if event.event == "endpoint":
                if self._endpoint is None:
                    assert self._stream is not None
                    try:
                        self._endpoint = post_url(self._stream.url, event.data.strip())
                    except ValueError as exc:
                        raise SseUnavailable(str(exc)) from exc
                continue
            if event.event != "message" or not event.data:
                continue
            try:
                document = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                logger.debug("%s sent an event that is not JSON; ignored", self.label)
                continue
            for message in document if isinstance(document, list) else [document]:
                if isinstance(message, dict):
                    self._on_message(message)

    async def _read(self, parser: SseParser) -> None:
        stream = self._stream
        assert stream is not None
        try:
            async for chunk in stream.content.iter_any():
                self._deliver(parser, chunk)
        except (aiohttp.ClientError, SseTooLarge, SseUnavailable) as exc:
            if not self.stopping:
                logger.warning("%s: the SSE stream broke: %s", self.label, type(exc).__name__)
        finally:
            stream.close()  # never back to the pool: the connection carried a long stream
            self._finish()

    async def send(self, message: Message, headers: Mapping[str, str] | None = None) -> None:
        """POST one message to the endpoint; :class:`MessageRefused` when the server refuses it."""
        endpoint = self._endpoint
        if endpoint is None or self.exited.is_set():
            raise ProcessGone(f"{self.label} is not connected")
        outgoing = {**(headers or {}), "Content-Type": "application/json"}
        try:
            async with self._http.post(
                endpoint,
                data=orjson.dumps(message),
                headers=outgoing,
                timeout=self._post_timeout,
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
        except TimeoutError as exc:
            raise MessageRefused("the SSE server did not accept the message in time") from exc
        except aiohttp.ClientError as exc:
            raise MessageRefused(
                f"the SSE server's message endpoint is unreachable: {type(exc).__name__}"
            ) from exc
        if not 200 <= status < 300:
            raise MessageRefused(f"the SSE server refused the message: HTTP {status}")

    def _abort(self) -> None:
        if self._stream is not None:
            self._stream.close()
        self.exited.set()

    def _finish(self) -> None:
        """Report the end of the stream, once."""
        if self.exited.is_set():
            return
        self.exited.set()
        if not self.stopping:
            logger.warning("%s: the SSE server closed the stream", self.label)
        self._on_exit()

    async def stop(self) -> None:
        """Close the stream (the upstream sees its session end)."""
        self.stopping = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        elif self._stream is not None:
            self._stream.close()
        self._finish()

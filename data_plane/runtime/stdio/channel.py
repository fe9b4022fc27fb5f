"""One MCP connection over one message stream, shared by the HTTP requests that use it.

The stream is a stdio process (``process.StdioProcess``) or a legacy HTTP+SSE connection
(``runtime.sse_upstream.connection.SseConnection``): either is a single JSON-RPC connection, so
requests from different clients must not collide there: every request goes to the process under an id of the channel's own (and a
progress token of its own), and the answer comes back under the client's. What the process
writes is routed to the HTTP request it belongs to:

* an answer, by its id;
* a progress notification, by its progress token; a ``subscriptions/listen`` event, by the
  subscription id in its ``_meta`` (the listen request's id);
* anything else (a server-to-client request such as elicitation or sampling, a logging or
  list-changed notification) has no address on such a stream. On a channel bound to one legacy
  session it goes to that session's client: requests on the newest request stream still
  open (else the GET stream), notifications on the GET stream (else the newest request
  stream), else kept in a small backlog for the next stream. A shared channel (2026-07-28
  requests, where servers never send requests) refuses server requests and drops the rest.

When the stream ends (the process exits, the SSE connection drops), every request in flight
gets a JSON-RPC error at once, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from data_plane.runtime.stdio.process import Message, ProcessGone

logger = logging.getLogger(__name__)

PROCESS_GONE = -32006
"""Same code as the gateway's "upstream unreachable" (``data_plane.errors.UPSTREAM_UNREACHABLE``)."""
METHOD_NOT_FOUND = -32601
SUBSCRIPTION_ID_META_KEY = "io.modelcontextprotocol/subscriptionId"
BACKLOG = 64
"""Messages kept for a session while none of its streams is open; older ones are dropped."""
MAX_QUEUED = 1024
"""Notifications waiting for one slow client beyond this are dropped (answers never are)."""

Kind = Literal["fresh", "shared", "session"]


class MessageRefused(ProcessGone):
    """The upstream refused one message (an SSE server's POST answered an error status); the
    text is meant for the client."""


class MessageStream(Protocol):
    """One bidirectional JSON-RPC connection the channel writes to (what it reads arrives by callback)."""

    label: str
    exited: asyncio.Event
    """Set once the connection is gone."""
    stopping: bool
    """True once :meth:`stop` was called: its end is not a crash."""

    async def send(self, message: Message, headers: Mapping[str, str] | None = None) -> None:
        """Deliver one message; :class:`ProcessGone` (with the reason) when it cannot be.

        ``headers`` are the upstream request headers of the HTTP request carrying the message
        (credentials, identity); a stdio process has no use for them.
        """
        ...

    async def stop(self) -> None:
        """End the connection."""
        ...


S = TypeVar("S", bound=MessageStream)
OpenStream = Callable[[Callable[[Message], None], Callable[[], None]], S]
"""Builds the stream given its ``on_message`` and ``on_exit`` callbacks (not yet started)."""


def error_message(rpc_id: Any, code: int, message: str) -> Message:
    """A JSON-RPC error response."""
    return {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}


@dataclass(eq=False)
class Exchange:
    """What one HTTP request sends back to its client: a request's answer, or a GET stream."""

    rpc_id: Any
    """The client's id of the request (``None`` for a GET stream)."""
    streams: bool
    """The client accepts an SSE answer, so related server messages may travel with it."""
    final: bool = False
    """The answer was queued: nothing more comes."""
    tokens: list[str] = field(default_factory=list)
    _queue: asyncio.Queue[Message | None] = field(default_factory=asyncio.Queue)

    def put(self, message: Message | None, *, final: bool = False) -> None:
        """Queue ``message`` for the client (``None`` ends a GET stream)."""
        if self.final:
            return
        if not final and message is not None and self._queue.qsize() >= MAX_QUEUED:
            logger.debug("a client is not reading its stream; a server notification was dropped")
            return
        self.final = final
        self._queue.put_nowait(message)

    async def next(self) -> Message | None:
        """The next message for the client; ``None`` when a GET stream ends."""
        return await self._queue.get()

    def pending(self) -> bool:
        """Whether a message is already waiting."""
        return not self._queue.empty()


class Channel(Generic[S]):
    """A message stream (stdio process, SSE connection) and the routing state of its connection."""

    def __init__(
        self,
        open_stream: OpenStream[S],
        *,
        on_gone: Callable[[Channel[S]], None],
        what: str = "the stdio server",
    ) -> None:
        self.process: S = open_stream(self._route, self._gone)
        """The stream (named ``process`` since stdio came first)."""
        self._what = what
        """How answers name the upstream (never a pid or a URL with its credentials)."""
        self.kind: Kind = "fresh"
        self.session_id = ""
        self.last_used = time.monotonic()
        self.served = False
        """Whether the process ever answered a request (a process that did was not a crash loop)."""
        self._on_gone = on_gone
        self._ids = itertools.count(1)
        self._pending: dict[int, Exchange] = {}
        self._progress: dict[str, tuple[Exchange, Any]] = {}
        self._listener: Exchange | None = None
        self._backlog: deque[Message] = deque(maxlen=BACKLOG)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def alive(self) -> bool:
        """The process is running (not exited, not being stopped)."""
        return not self.process.exited.is_set() and not self.process.stopping

    @property
    def busy(self) -> bool:
        """Requests are in flight or a GET stream is open."""
        return bool(self._pending) or self._listener is not None

    @property
    def load(self) -> int:
        """Requests in flight."""
        return len(self._pending)

    async def request(
        self, message: Message, *, streams: bool, headers: Mapping[str, str] | None = None
    ) -> Exchange:
        """Send a client request under this channel's id; its answer arrives on the exchange."""
        self.last_used = time.monotonic()
        exchange = Exchange(rpc_id=message.get("id"), streams=streams)
        our_id = next(self._ids)
        outgoing = {**message, "id": our_id}
        params = message.get("params")
        meta = params.get("_meta") if isinstance(params, dict) else None
        if isinstance(params, dict) and isinstance(meta, dict) and "progressToken" in meta:
            token = f"p{our_id}"
            self._progress[token] = (exchange, meta["progressToken"])
            exchange.tokens.append(token)
            outgoing["params"] = {**params, "_meta": {**meta, "progressToken": token}}
        self._pending[our_id] = exchange
        try:
            await self.process.send(outgoing, headers)
        except MessageRefused as exc:
            self._settle(our_id, error_message(exchange.rpc_id, PROCESS_GONE, str(exc)))
        except ProcessGone:
            self._settle(our_id, error_message(exchange.rpc_id, PROCESS_GONE, f"{self._what} is not running"))
        return exchange

    async def forward(self, message: Message, headers: Mapping[str, str] | None = None) -> None:
        """Send a client notification or answer (to a server request); :class:`ProcessGone`."""
        self.last_used = time.monotonic()
        if message.get("method") == "notifications/cancelled":
            message = self._cancellation(message)
        await self.process.send(message, headers)

    def _cancellation(self, message: Message) -> Message:
        """A client's cancellation, naming the request by this channel's id for it."""
        params = message.get("params")
        wanted = params.get("requestId") if isinstance(params, dict) else None
        for our_id, exchange in self._pending.items():
            if exchange.rpc_id == wanted and wanted is not None:
                return {**message, "params": {**params, "requestId": our_id}}  # type: ignore[dict-item]
        return message

    async def abandon(self, exchange: Exchange) -> None:
        """The client went away before its answer: forget it and tell the server to stop."""
        for our_id, pending in list(self._pending.items()):
            if pending is exchange:
                self._forget(our_id)
                cancel = {
                    "jsonrpc": "2.0",
                    "method": "notifications/cancelled",
                    "params": {"requestId": our_id, "reason": "the client went away"},
                }
                with contextlib.suppress(ProcessGone):
                    await self.process.send(cancel)

    def listen(self) -> Exchange:
        """Open the session's GET stream (replacing an older one); the backlog goes first."""
        self.last_used = time.monotonic()
        if self._listener is not None:
            self._listener.put(None)
        listener = Exchange(rpc_id=None, streams=True)
        while self._backlog:
            listener.put(self._backlog.popleft())
        self._listener = listener
        return listener

    def unlisten(self, listener: Exchange) -> None:
        """The GET stream ``listener`` closed."""
        if self._listener is listener:
            self._listener = None
            self.last_used = time.monotonic()

    def _forget(self, our_id: int) -> Exchange | None:
        exchange = self._pending.pop(our_id, None)
        if exchange is not None:
            for token in exchange.tokens:
                self._progress.pop(token, None)
        return exchange

    def _settle(self, our_id: int, answer: Message) -> None:
        exchange = self._forget(our_id)
        if exchange is not None:
            self.last_used = time.monotonic()
            exchange.put(answer, final=True)

    def _route(self, message: Message) -> None:
        """Deliver one message the process wrote (see the module docstring)."""
        method = message.get("method")
        rpc_id = message.get("id")
        if method is None:
            if isinstance(rpc_id, int) and rpc_id in self._pending:
                self.served = True
                self._settle(rpc_id, {**message, "id": self._pending[rpc_id].rpc_id})
            else:
                logger.debug("%s answered a request nobody waits for", self.process.label)
            return
        params = message.get("params")
        params = params if isinstance(params, dict) else {}
        if rpc_id is None and method == "notifications/progress":
            token = params.get("progressToken")
            found = self._progress.get(token) if isinstance(token, str) else None
            if found is not None:
                exchange, original = found
                exchange.put({**message, "params": {**params, "progressToken": original}})
            return
        meta = params.get("_meta")
        subscription = meta.get(SUBSCRIPTION_ID_META_KEY) if isinstance(meta, dict) else None
        if rpc_id is None and isinstance(subscription, int) and subscription in self._pending:
            exchange = self._pending[subscription]
            rewritten = {**meta, SUBSCRIPTION_ID_META_KEY: exchange.rpc_id}  # type: ignore[dict-item]
            exchange.put({**message, "params": {**params, "_meta": rewritten}})
            return
        if self.kind == "session":
            self._to_session(message, is_request=rpc_id is not None)
        elif rpc_id is not None:
            refusal = error_message(rpc_id, METHOD_NOT_FOUND, "this connection serves no server requests")
            self._spawn(self._send_quietly(refusal))
        else:
            logger.debug("%s sent %s with no request to carry it; dropped", self.process.label, method)

    def _to_session(self, message: Message, *, is_request: bool) -> None:
        newest = next((e for e in reversed(self._pending.values()) if e.streams), None)
        order = (newest, self._listener) if is_request else (self._listener, newest)
        target = next((e for e in order if e is not None), None)
        if target is not None:
            target.put(message)
        else:
            self._backlog.append(message)

    async def _send_quietly(self, message: Message) -> None:
        with contextlib.suppress(ProcessGone):
            await self.process.send(message)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _gone(self) -> None:
        """The stream ended: fail what is in flight, end the GET stream, leave the pool."""
        for our_id in list(self._pending):
            exchange = self._pending[our_id]
            self._settle(
                our_id,
                error_message(exchange.rpc_id, PROCESS_GONE, f"{self._what} went away during this request"),
            )
        if self._listener is not None:
            self._listener.put(None)
            self._listener = None
        self._on_gone(self)

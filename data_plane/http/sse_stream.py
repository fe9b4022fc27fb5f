"""One open downstream legacy SSE stream and the sink that turns chain answers into its events.

The legacy HTTP+SSE transport (2024-11-05) answers every POST with 202 and delivers JSON-RPC
answers and server messages as ``message`` events of the client's one GET stream. The chain
relays Streamable HTTP answers (a JSON body or an SSE stream) to a :class:`ResponseSink`;
:class:`StreamSink` reads those answers and queues each JSON-RPC message on the
:class:`DownstreamStream`, which the GET handler writes out.

An upstream error status without a JSON-RPC answer for the request (a 404 for an expired
upstream session, a 502 from the gateway itself) becomes a JSON-RPC error response to that
request, so a client never waits for an answer that cannot come. A 404 for the session ends
the stream: a legacy SSE client starts over with a new GET.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from data_plane.errors import UPSTREAM_UNREACHABLE, denial_response
from data_plane.pipeline.context import Denial, Outcome, RequestContext
from data_plane.runtime.responses import negotiated_version
from data_plane.runtime.sessions import SessionSealer
from data_plane.runtime.sse_events import MAX_EVENT_BYTES, SseParser, SseTooLarge

logger = logging.getLogger(__name__)

SESSION_HEADER = "Mcp-Session-Id"
MAX_QUEUED = 1024
"""Server notifications waiting for a client that does not read beyond this are dropped."""

Message = dict[str, Any]


@dataclass(eq=False)
class DownstreamStream:
    """A client's open ``GET /{slug}/sse`` stream: who owns it and what it carries upstream."""

    stream_id: str
    slug: str
    key_id: str
    """The principal that opened it: every POST to it must authenticate as the same one."""
    upstream_token: str = ""
    """The gateway's sealed ``Mcp-Session-Id`` for this session, once ``initialize`` answered."""
    protocol_version: str = ""
    listening: bool = False
    """A GET toward the upstream session carries its server-initiated messages."""
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _queue: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)

    def push(self, message: Message, *, answer: bool) -> None:
        """Queue one JSON-RPC message for the client (answers are never dropped)."""
        if self.closed.is_set():
            return
        if not answer and self._queue.qsize() >= MAX_QUEUED:
            logger.debug("an SSE client is not reading its stream; a server message was dropped")
            return
        self._queue.put_nowait(orjson.dumps(message))

    async def next(self) -> bytes:
        """The next message's JSON (waits)."""
        return await self._queue.get()

    def close(self) -> None:
        """End the stream (the GET handler returns)."""
        self.closed.set()

    def spawn(self, coro: Any) -> None:
        """Run ``coro`` for this stream; it is cancelled when the stream ends."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class StreamSink:
    """A :class:`~data_plane.pipeline.sink.ResponseSink` delivering into a downstream stream."""

    def __init__(self, stream: DownstreamStream, public_base_url: str) -> None:
        self._stream = stream
        self._public_base_url = public_base_url
        self._ctx: RequestContext | None = None
        self._status = 0
        self._sse: SseParser | None = None
        self._body: list[bytes] = []
        self._size = 0
        self._answered = False
        self.settled: Outcome | None = None

    def bind(self, ctx: RequestContext) -> StreamSink:
        """The request whose answer this sink receives."""
        self._ctx = ctx
        return self

    def settle(self, outcome: Outcome) -> None:
        """Remember the outcome decided once the answer was out."""
        self.settled = outcome

    async def deny(self, ctx: RequestContext, denial: Denial) -> Outcome:
        """A refusal after the 202 (upstream unreachable, timeout): a JSON-RPC error on the stream."""
        response, outcome = denial_response(ctx, denial, self._public_base_url)
        if ctx.rpc_id is not None and isinstance(response.body, bytes):
            self._stream.push(orjson.loads(response.body), answer=True)
        return outcome

    async def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """A complete answer."""
        await self.start(status, headers, len(body))
        await self.write(body)
        await self.end()

    async def start(self, status: int, headers: Mapping[str, str], content_length: int | None) -> None:
        """Note the status, the session the answer opened, and how the body is framed."""
        self._status = status
        token = headers.get(SESSION_HEADER)
        if token and status < 300:
            self._stream.upstream_token = token
        if headers.get("Content-Type", "").startswith("text/event-stream"):
            self._sse = SseParser()

    async def write(self, chunk: bytes) -> None:
        """Events are delivered as they complete; a JSON body when it ends."""
        if self._sse is not None:
            try:
                events = self._sse.feed(chunk)
            except SseTooLarge:
                logger.warning("an upstream SSE event was too large for the legacy SSE stream; dropped")
                self._sse = SseParser()
                return
            for event in events:
                if event.event == "message" and event.data:
                    self._deliver(event.data.encode())
            return
        self._size += len(chunk)
        if self._size <= MAX_EVENT_BYTES:
            self._body.append(chunk)

    async def end(self) -> None:
        """Deliver a JSON body; make sure a request got an answer."""
        if self._sse is None and self._body:
            self._deliver(b"".join(self._body))
        ctx = self._ctx
        if ctx is not None and ctx.rpc_id is not None and not self._answered:
            reason = f"the upstream answered HTTP {self._status} without a JSON-RPC response"
            error = {"code": UPSTREAM_UNREACHABLE, "message": reason}
            self._stream.push({"jsonrpc": "2.0", "id": ctx.rpc_id, "error": error}, answer=True)
        if self._status == 404 and ctx is not None and ctx.session is not None:
            self._stream.close()  # the upstream session is gone: the client starts over

    def _deliver(self, data: bytes) -> None:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        ctx = self._ctx
        for message in document if isinstance(document, list) else [document]:
            if not isinstance(message, dict):
                continue
            is_answer = "method" not in message
            if is_answer and ctx is not None and ctx.rpc_id is not None:
                if message.get("id") != ctx.rpc_id:
                    # An error the upstream could not address (its 404 says id "server-error"):
                    # it answers this request.
                    message = {**message, "id": ctx.rpc_id}
                self._answered = True
                if ctx.rpc_method == "initialize" and self._status < 300:
                    self._stream.protocol_version = negotiated_version(message)
            self._stream.push(message, answer=is_answer)


class LegacySseStreams:
    """The streams this process holds, by stream id, and the sealer of their tokens."""

    def __init__(self, sealer: SessionSealer) -> None:
        self.sealer = sealer
        self.streams: dict[str, DownstreamStream] = {}
        self._endings: set[asyncio.Task[Any]] = set()

    def ending(self, task: asyncio.Task[Any]) -> None:
        """Keep ``task`` (the DELETE of an ended stream's session) until it finishes."""
        self._endings.add(task)
        task.add_done_callback(self._endings.discard)

    def ending_tasks(self) -> list[asyncio.Task[Any]]:
        """The DELETEs of ended streams' sessions still running."""
        return list(self._endings)

    async def close(self) -> None:
        """End every stream (shutdown)."""
        for stream in list(self.streams.values()):
            stream.close()
        await asyncio.gather(*self._endings, return_exceptions=True)

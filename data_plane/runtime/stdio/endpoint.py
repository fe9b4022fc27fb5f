"""The message-stream pools' HTTP face: a Streamable HTTP server on the stdio host's unix socket.

It serves stdio pools and legacy HTTP+SSE pools (``runtime/sse_upstream``) alike: both bridge
one JSON-RPC connection per session to Streamable HTTP through a :class:`Channel`.

The upstream stage calls ``POST/GET/DELETE /{slug}/{fingerprint}/mcp`` here exactly as it
calls a remote server, so every stage before it (authentication, authorization, filtering,
audit) and the relay after it stay as they are. This is the server side of that hop:

* ``POST`` ``initialize`` without a session opens a legacy session on a process of its own
  and answers with its ``Mcp-Session-Id``; a request with a session id goes to that session's
  process (404 when it is gone or lives on another data plane: the client re-initializes);
  a request without a session carrying the 2026-07-28 envelope goes to a shared process.
* An answer that arrives before anything else for its request leaves as one JSON body; when
  server messages come first (progress, elicitation), the answer is an SSE stream.
* ``GET`` opens a session's stream for server messages; ``DELETE`` ends the session (and
  stops its process, or closes its SSE connection).

The request headers the upstream stage sent (credentials, identity) are handed on with each
message, minus those of this hop (:data:`HOP_HEADERS`): an SSE upstream sends them on its GET
and POSTs; a process ignores them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import orjson
from aiohttp import web

from data_plane.runtime.stdio.channel import PROCESS_GONE, Channel, Exchange, MessageRefused
from data_plane.runtime.stdio.pool import PoolExhausted, SpawnFailed
from data_plane.runtime.stdio.process import Message, ProcessGone

SESSION_HEADER = "Mcp-Session-Id"
PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-transform"}

HOP_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "accept",
        "accept-encoding",
        "connection",
        "transfer-encoding",
        "user-agent",
        "mcp-session-id",
        "last-event-id",
    }
)
"""Headers of this internal hop, never handed on to a stream's own upstream requests."""


class ChannelPool(Protocol):
    """What this face needs of a pool (``StdioPool``, ``SsePool``)."""

    def session(self, session_id: str) -> Channel[Any] | None:
        """The live channel of ``session_id``."""
        ...

    async def end_session(self, session_id: str) -> bool:
        """End ``session_id``; False when unknown here."""
        ...

    async def open_session(self, headers: Mapping[str, str] | None = None) -> Channel[Any]:
        """A channel bound to a new session."""
        ...

    async def shared(self, headers: Mapping[str, str] | None = None) -> Channel[Any]:
        """A channel for one request without session."""
        ...

    async def release(self, channel: Channel[Any]) -> None:
        """The request without session on ``channel`` was answered."""
        ...


PoolLookup = Callable[[str, str], ChannelPool | None]
POOLS: web.AppKey[PoolLookup] = web.AppKey("stdio_pools")


def _error(status: int, rpc_id: Any, code: int, message: str) -> web.Response:
    body = {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def _event(message: Message) -> bytes:
    return b"event: message\ndata: " + orjson.dumps(message) + b"\n\n"


def is_modern_request(message: Mapping[str, Any]) -> bool:
    """Whether a request carries the 2026-07-28 per-request envelope (its version in ``_meta``)."""
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and PROTOCOL_VERSION_META_KEY in meta


def _pool(request: web.Request) -> ChannelPool | None:
    return request.app[POOLS](request.match_info["slug"], request.match_info["fingerprint"])


def onward_headers(request: web.Request) -> dict[str, str]:
    """The upstream stage's headers for the stream's own requests (this hop's removed)."""
    return {name: value for name, value in request.headers.items() if name.lower() not in HOP_HEADERS}


def _unknown_pool(rpc_id: Any = None) -> web.Response:
    # The snapshot changed this server's launch between the chain's read and this one.
    return _error(503, rpc_id, PROCESS_GONE, "the stdio server was reconfigured; retry")


def _session_gone(rpc_id: Any = None) -> web.Response:
    return _error(404, rpc_id, INVALID_REQUEST, "Session not found")


async def _channel_for(
    pool: ChannelPool, message: Message, session_id: str | None, headers: Mapping[str, str]
) -> Channel[Any] | web.Response:
    rpc_id = message.get("id")
    if session_id is not None:
        channel = pool.session(session_id)
        return channel if channel is not None else _session_gone(rpc_id)
    try:
        if message.get("method") == "initialize":
            return await pool.open_session(headers)
        if is_modern_request(message):
            return await pool.shared(headers)
    except PoolExhausted as exc:
        return _error(503, rpc_id, PROCESS_GONE, str(exc))
    except SpawnFailed as exc:
        return _error(502, rpc_id, PROCESS_GONE, str(exc))
    return _error(400, rpc_id, INVALID_REQUEST, "Bad Request: Mcp-Session-Id header is required")


async def post(request: web.Request) -> web.StreamResponse:
    """One JSON-RPC message from a client."""
    pool = _pool(request)
    if pool is None:
        return _unknown_pool()
    try:
        message = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _error(400, None, PARSE_ERROR, "Parse error")
    if not isinstance(message, dict):
        return _error(400, None, INVALID_REQUEST, "one JSON-RPC message per request")
    session_id = request.headers.get(SESSION_HEADER)
    headers = onward_headers(request)
    if "method" not in message or "id" not in message:
        if session_id is None:
            return web.Response(status=202)  # nothing on a shared process can be its addressee
        channel = pool.session(session_id)
        if channel is None:
            return _session_gone()
        try:
            await channel.forward(message, headers)
        except MessageRefused as exc:
            return _error(502, None, PROCESS_GONE, str(exc))
        except ProcessGone:
            return _session_gone()
        return web.Response(status=202)
    found = await _channel_for(pool, message, session_id, headers)
    if isinstance(found, web.Response):
        return found
    channel = found
    streams = "text/event-stream" in request.headers.get("Accept", "")
    try:
        exchange = await channel.request(message, streams=streams, headers=headers)
        try:
            return await _answer(request, pool, channel, exchange, opened=session_id is None)
        finally:
            if not exchange.final:
                await channel.abandon(exchange)
    finally:
        if session_id is None and channel.kind == "shared":
            await pool.release(channel)


async def _answer(
    request: web.Request, pool: ChannelPool, channel: Channel[Any], exchange: Exchange, *, opened: bool
) -> web.StreamResponse:
    """The answer as one JSON body when nothing precedes it, else as an SSE stream."""
    first = await exchange.next()
    while first is not None and "method" in first and not exchange.streams:
        first = await exchange.next()  # a client without SSE gets only its answer
    assert first is not None  # only GET streams end with None
    headers: dict[str, str] = {}
    if opened and channel.kind == "session" and "method" not in first:
        if "result" in first:
            headers[SESSION_HEADER] = channel.session_id
        else:
            await pool.end_session(channel.session_id)  # the handshake failed: no session
    if "method" not in first:
        return web.Response(body=orjson.dumps(first), content_type="application/json", headers=headers)
    response = web.StreamResponse(headers={**SSE_HEADERS, **headers})
    await response.prepare(request)
    message: Message | None = first
    while message is not None:
        await response.write(_event(message))
        if "method" not in message:
            break
        message = await exchange.next()
    await response.write_eof()
    return response


async def get(request: web.Request) -> web.StreamResponse:
    """A session's stream of server messages (requests and notifications)."""
    pool = _pool(request)
    if pool is None:
        return _unknown_pool()
    session_id = request.headers.get(SESSION_HEADER)
    if session_id is None:
        return _error(405, None, INVALID_REQUEST, "Method Not Allowed: no session")
    channel = pool.session(session_id)
    if channel is None:
        return _session_gone()
    if "text/event-stream" not in request.headers.get("Accept", ""):
        return _error(406, None, INVALID_REQUEST, "Not Acceptable: the client must accept text/event-stream")
    listener = channel.listen()
    try:
        response = web.StreamResponse(headers=SSE_HEADERS)
        await response.prepare(request)
        while (message := await listener.next()) is not None:
            await response.write(_event(message))
        await response.write_eof()
        return response
    finally:
        channel.unlisten(listener)


async def delete(request: web.Request) -> web.StreamResponse:
    """End a session: its process stops."""
    pool = _pool(request)
    if pool is None:
        return _unknown_pool()
    session_id = request.headers.get(SESSION_HEADER)
    if session_id is None:
        return _error(405, None, INVALID_REQUEST, "Method Not Allowed: no session")
    if not await pool.end_session(session_id):
        return _session_gone()
    return web.Response(status=200)


def build_app(pools: PoolLookup) -> web.Application:
    """The internal application (served only on the stdio host's unix socket)."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[POOLS] = pools
    path = "/{slug}/{fingerprint}/mcp"
    app.router.add_post(path, post)
    app.router.add_get(path, get)
    app.router.add_delete(path, delete)
    return app

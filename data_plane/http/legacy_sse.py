"""The legacy HTTP+SSE endpoint (MCP 2024-11-05) for old clients: ``GET /{slug}/sse``.

``GET /{slug}/sse`` runs the deciding stages (Host/Origin, authentication, server access),
then opens an event stream whose first event, ``endpoint``, names the POST URL
``messages?session_id=<token>`` (relative, so it resolves under any path prefix). The token is
sealed like session ids (AES-GCM, a key derived from the group key under its own label, so it
is no ``Mcp-Session-Id``) and names the server, the stream and the principal that opened it.

``POST /{slug}/messages?session_id=<token>`` runs the deciding stages again (authentication on
every POST), then must come from that same principal. Refusals before that point (Host,
Origin, parse, authentication, an unknown or foreign token) are HTTP errors with a reason; once
the caller is known to own the stream the POST is answered 202 and the JSON-RPC answer (or a
JSON-RPC error for a refusal) arrives on the stream. The message goes through the same chain as
``/{slug}/mcp``: the endpoint acts as a Streamable HTTP client of it, holding the session's
sealed ``Mcp-Session-Id`` and, once the session is initialized, a GET for the server's own
messages. When the client hangs up, the upstream session is ended (DELETE).

The stream lives in the process that opened it: a POST reaching another worker or replica
cannot join it and gets 404 with that reason (see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from data_plane import keys
from data_plane.errors import INVALID_REQUEST, SESSION_NOT_FOUND, denial_response, error_body
from data_plane.http.sse_stream import DownstreamStream, StreamSink
from data_plane.pipeline.chain import Chain
from data_plane.pipeline.context import Denial, DenialKind, Outcome, RequestContext
from data_plane.runtime.sessions import SessionClaims, token_fingerprint

SSE_ROUTE = "/{slug:[A-Za-z0-9][A-Za-z0-9_.-]*}/sse"
MESSAGES_ROUTE = "/{slug:[A-Za-z0-9][A-Za-z0-9_.-]*}/messages"
STREAM_KEY_INFO = b"mcpgw legacy sse stream v1"
"""HKDF label of the key sealing ``session_id`` tokens (never opens an ``Mcp-Session-Id``)."""
KEEPALIVE_SECONDS = 15.0
"""A comment line this often keeps a quiet stream from being cut by clients and proxies."""
ACCEPT_BOTH = "application/json, text/event-stream"
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-transform"}
_DROPPED = frozenset({"mcp-session-id", "accept", "content-type", "content-length", "mcp-protocol-version"})


def _context(
    request: web.Request, method: str, headers: CIMultiDictProxy[str], body: bytes
) -> RequestContext:
    return RequestContext(
        http_method=method,
        slug=request.match_info["slug"],
        headers=headers,
        body=body,
        started=time.perf_counter(),
        snapshot=request.app[keys.STORE].current,
    )


def _headers(request: web.Request, stream: DownstreamStream | None, method: str) -> CIMultiDictProxy[str]:
    """The client's headers as a Streamable HTTP client of the chain would send them."""
    out: CIMultiDict[str] = CIMultiDict(
        (name, value) for name, value in request.headers.items() if name.lower() not in _DROPPED
    )
    out["Accept"] = "text/event-stream" if method == "GET" else ACCEPT_BOTH
    if method == "POST":
        out["Content-Type"] = "application/json"
    if stream is not None and stream.upstream_token:
        out["Mcp-Session-Id"] = stream.upstream_token
        if stream.protocol_version:
            out["MCP-Protocol-Version"] = stream.protocol_version
    return CIMultiDictProxy(out)


def _refuse(ctx: RequestContext, denial: Denial, chain: Chain, public_base_url: str) -> web.Response:
    response, outcome = denial_response(ctx, denial, public_base_url)
    chain.record(ctx, outcome)
    return response


def _not_found(reason: str) -> web.Response:
    body = error_body(None, SESSION_NOT_FOUND, reason, {"reason": reason})
    return web.Response(status=404, body=body, content_type="application/json")


async def open_stream(request: web.Request) -> web.StreamResponse:
    """``GET /{slug}/sse``: authenticate, then hold the event stream open."""
    app = request.app
    chain, registry, base = app[keys.CHAIN], app[keys.LEGACY_SSE], app[keys.PUBLIC_BASE_URL]
    ctx, denial = await chain.decide(_context(request, "GET", _headers(request, None, "GET"), b""))
    if denial is None and ctx.principal is None:
        denial = Denial(DenialKind.UNAUTHENTICATED, "authentication required")
    if denial is not None:
        return _refuse(ctx, denial, chain, base)
    assert ctx.principal is not None
    stream = DownstreamStream(stream_id=secrets.token_urlsafe(16), slug=ctx.slug, key_id=ctx.principal.key_id)
    claims = SessionClaims(ctx.slug, stream.stream_id, stream.key_id, "", int(time.time()))
    token = registry.sealer.seal(claims)
    registry.streams[stream.stream_id] = stream
    chain.record(ctx, Outcome("ok", 200, rule=ctx.rule))
    response = web.StreamResponse(headers=SSE_HEADERS)
    try:
        await response.prepare(request)
        await response.write(f"event: endpoint\ndata: messages?session_id={token}\n\n".encode())
        closed = asyncio.ensure_future(stream.closed.wait())
        try:
            while not stream.closed.is_set():
                got = asyncio.ensure_future(stream.next())
                done, _ = await asyncio.wait(
                    {got, closed}, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
                if got in done:
                    await response.write(b"event: message\ndata: " + got.result() + b"\n\n")
                else:
                    got.cancel()
                    if not done:
                        await response.write(b": keep-alive\n\n")
        finally:
            closed.cancel()
        await response.write_eof()
        return response
    finally:
        _end(request, stream)


def _end(request: web.Request, stream: DownstreamStream) -> None:
    """The client hung up (or the session ended): stop its work and end the upstream session."""
    registry = request.app[keys.LEGACY_SSE]
    registry.streams.pop(stream.stream_id, None)
    stream.close()
    for task in stream.tasks:
        task.cancel()
    if stream.upstream_token:
        # The handler is being cancelled: the DELETE runs on its own (kept by the registry).
        ctx = _context(request, "DELETE", _headers(request, stream, "DELETE"), b"")
        sink = StreamSink(stream, request.app[keys.PUBLIC_BASE_URL])
        registry.ending(asyncio.ensure_future(request.app[keys.CHAIN].handle(ctx, sink.bind(ctx))))


def _stream_of(request: web.Request) -> DownstreamStream | web.Response:
    """The stream a POST names, or the 4xx saying why there is none here."""
    token = request.query.get("session_id")
    if token is None:
        body = error_body(None, INVALID_REQUEST, "session_id is required (from the stream's endpoint event)")
        return web.Response(status=400, body=body, content_type="application/json")
    registry = request.app[keys.LEGACY_SSE]
    claims = registry.sealer.open(token)
    if claims is None or claims.server != request.match_info["slug"]:
        return _not_found(f"unknown session_id (token {token_fingerprint(token)}): open a new stream")
    stream = registry.streams.get(claims.upstream_session_id)
    if stream is None:
        return _not_found(
            "no open SSE stream for this session_id in this gateway process: it ended, or it is held "
            "by another worker or replica (keep a legacy SSE client on one); open a new stream"
        )
    return stream


async def post_message(request: web.Request) -> web.StreamResponse:
    """``POST /{slug}/messages``: decide now, answer 202, deliver the answer on the stream."""
    app = request.app
    chain, base = app[keys.CHAIN], app[keys.PUBLIC_BASE_URL]
    found = _stream_of(request)
    if isinstance(found, web.Response):
        return found
    stream = found
    body = await request.read()
    ctx, denial = await chain.decide(_context(request, "POST", _headers(request, stream, "POST"), body))
    owner = ctx.principal is not None and ctx.principal.key_id == stream.key_id
    if denial is None and not owner:
        denial = Denial(DenialKind.SESSION_NOT_FOUND, "session not found (issued for another key)")
    if denial is not None and not owner:
        return _refuse(ctx, denial, chain, base)  # never a word on someone else's stream
    sink = StreamSink(stream, base).bind(ctx)
    if denial is not None:
        chain.record(ctx, await sink.deny(ctx, denial))
        if denial.kind is DenialKind.SESSION_NOT_FOUND:
            stream.close()
        return web.Response(status=202, text="Accepted")
    stream.spawn(_forward(chain, ctx, sink, stream, request))
    return web.Response(status=202, text="Accepted")


async def _forward(
    chain: Chain, ctx: RequestContext, sink: StreamSink, stream: DownstreamStream, request: web.Request
) -> None:
    await chain.complete(ctx, sink)
    if ctx.rpc_method == "notifications/initialized" and stream.upstream_token and not stream.listening:
        # The session is ready: its server-initiated messages come on a GET of their own.
        stream.listening = True
        get = _context(request, "GET", _headers(request, stream, "GET"), b"")
        get, denial = await chain.decide(get)
        if denial is None:
            with contextlib.suppress(ConnectionError):
                await chain.complete(get, StreamSink(stream, request.app[keys.PUBLIC_BASE_URL]).bind(get))


def add_routes(app: web.Application) -> None:
    """Register ``GET /{slug}/sse`` and ``POST /{slug}/messages``."""
    app.router.add_get(SSE_ROUTE, open_stream)
    app.router.add_post(MESSAGES_ROUTE, post_message)

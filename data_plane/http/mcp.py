"""The MCP endpoint ``/{slug}/mcp`` (POST, GET, DELETE): builds the context, runs the chain."""

from __future__ import annotations

import time
from collections.abc import Mapping

from aiohttp import web

from data_plane import keys
from data_plane.errors import denial_response
from data_plane.pipeline.context import Denial, Outcome, RequestContext

ROUTE = "/{slug:[A-Za-z0-9][A-Za-z0-9_.-]*}/mcp"


class HttpSink:
    """The aiohttp side of one request: a denial response or an unbuffered stream."""

    __slots__ = ("_public_base_url", "_request", "response", "settled")

    def __init__(self, request: web.Request, public_base_url: str) -> None:
        self._request = request
        self._public_base_url = public_base_url
        self.response: web.StreamResponse | None = None
        self.settled: Outcome | None = None

    def settle(self, outcome: Outcome) -> None:
        """Remember the outcome decided once the answer was written."""
        self.settled = outcome

    async def deny(self, ctx: RequestContext, denial: Denial) -> Outcome:
        """Answer with the mapped JSON-RPC error."""
        self.response, outcome = denial_response(ctx, denial, self._public_base_url)
        return outcome

    async def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """A complete answer in one response: headers and body leave in one write."""
        response = web.Response(status=status, headers=headers, body=body)
        self.response = response
        await response.prepare(self._request)
        await response.write_eof()

    async def start(self, status: int, headers: Mapping[str, str], content_length: int | None) -> None:
        """Send status and headers now, so the first body byte can follow at once."""
        response = web.StreamResponse(status=status, headers=headers)
        if content_length is not None:
            response.content_length = content_length
        self.response = response
        await response.prepare(self._request)

    async def write(self, chunk: bytes) -> None:
        """Send a chunk as it arrived from upstream."""
        assert self.response is not None
        await self.response.write(chunk)

    async def end(self) -> None:
        """Finish the response."""
        assert self.response is not None
        await self.response.write_eof()


async def handle_mcp(request: web.Request) -> web.StreamResponse:
    """POST/GET/DELETE ``/{slug}/mcp``: run the chain with the snapshot held right now."""
    app = request.app
    body = await request.read() if request.method == "POST" else b""
    ctx = RequestContext(
        http_method=request.method,
        slug=request.match_info["slug"],
        headers=request.headers,
        body=body,
        started=time.perf_counter(),
        snapshot=app[keys.STORE].current,
    )
    sink = HttpSink(request, app[keys.PUBLIC_BASE_URL])
    await app[keys.CHAIN].handle(ctx, sink)
    if sink.response is None:
        raise RuntimeError("the chain finished without an answer")
    return sink.response


def add_routes(app: web.Application) -> None:
    """Register the MCP endpoint."""
    for method in ("POST", "GET", "DELETE"):
        app.router.add_route(method, ROUTE, handle_mcp)

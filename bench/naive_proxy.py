"""The naive pass-through proxy: one aiohttp process, no stages, the baseline to beat.

Reads the request, forwards method, body and a few headers to one upstream on a keep-alive
session, and streams the answer back chunk by chunk. Run:
``python -m bench.naive_proxy --port N --upstream http://127.0.0.1:M/mcp``.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bench.serving import serve_forever

SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)
FORWARD = ("Content-Type", "Accept", "Mcp-Session-Id", "MCP-Protocol-Version")
BACK = ("Content-Type", "Mcp-Session-Id")


async def proxy(request: web.Request) -> web.StreamResponse:
    """Forward one request and stream the response back."""
    headers = {name: value for name in FORWARD if (value := request.headers.get(name)) is not None}
    body = await request.read()
    async with request.app[SESSION].request(
        request.method, request.app[UPSTREAM], data=body or None, headers=headers
    ) as upstream:
        back = {name: value for name in BACK if (value := upstream.headers.get(name)) is not None}
        response = web.StreamResponse(status=upstream.status, headers=back)
        if upstream.content_length is not None:
            response.content_length = upstream.content_length
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


async def _session(app: web.Application) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=0)
    app[SESSION] = aiohttp.ClientSession(connector=connector, auto_decompress=False)
    yield
    await app[SESSION].close()


def build_app(upstream: str) -> web.Application:
    """The proxy app: every path goes to ``upstream``."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[UPSTREAM] = upstream
    app.cleanup_ctx.append(_session)
    app.router.add_route("*", "/{tail:.*}", proxy)
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args(argv)
    serve_forever(build_app(args.upstream), args.host, args.port)


if __name__ == "__main__":
    main()

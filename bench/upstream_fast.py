"""A fast upstream: a raw aiohttp JSON-RPC responder speaking just enough MCP to be proxied.

``initialize``, ``notifications/*`` (202), ``ping``, ``tools/list`` and ``tools/call`` with three
tools: ``echo`` (small JSON result), ``big`` (a 1 MiB text result, served from precomputed bytes)
and ``stream`` (the result as an SSE stream: two progress notifications, then the response).
Stateless, no SDK, no validation beyond what routing needs, so it is never the bottleneck.

Run: ``python -m bench.upstream_fast --port N``.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
from aiohttp import web

from bench.serving import serve_forever

PROTOCOL_VERSION = "2025-06-18"
BIG_RESULT_BYTES = 1024 * 1024
TOOLS = [
    {"name": "echo", "description": "Echo text.", "inputSchema": {"type": "object"}},
    {"name": "big", "description": "A 1 MiB text result.", "inputSchema": {"type": "object"}},
    {"name": "stream", "description": "The result as an SSE stream.", "inputSchema": {"type": "object"}},
]
_BIG_RESULT = orjson.dumps({"content": [{"type": "text", "text": "x" * BIG_RESULT_BYTES}], "isError": False})
_JSON = {"Content-Type": "application/json"}
_SSE = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


def _reply(rpc_id: Any, result: Any) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": rpc_id, "result": result})


def _error(rpc_id: Any, code: int, message: str) -> web.Response:
    body = orjson.dumps({"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}})
    return web.Response(body=body, headers=_JSON)


def _initialize(rpc_id: Any, params: dict[str, Any]) -> web.Response:
    result = {
        "protocolVersion": params.get("protocolVersion", PROTOCOL_VERSION),
        "capabilities": {"tools": {"listChanged": False}},
        "serverInfo": {"name": "bench-fast-upstream", "version": "1"},
    }
    return web.Response(body=_reply(rpc_id, result), headers=_JSON)


async def _stream(request: web.Request, rpc_id: Any, text: str) -> web.StreamResponse:
    response = web.StreamResponse(headers=_SSE)
    await response.prepare(request)
    for progress in (1, 2):
        note = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": progress}}
        await response.write(b"event: message\ndata: " + orjson.dumps(note) + b"\n\n")
    result = {"content": [{"type": "text", "text": text}], "isError": False}
    await response.write(b"event: message\ndata: " + _reply(rpc_id, result) + b"\n\n")
    await response.write_eof()
    return response


async def handle(request: web.Request) -> web.StreamResponse:
    """POST /mcp: one JSON-RPC message in, a JSON (or SSE) answer out."""
    message = orjson.loads(await request.read())
    method = message.get("method", "")
    rpc_id = message.get("id")
    params = message.get("params") or {}
    if "id" not in message:
        return web.Response(status=202)
    if method == "initialize":
        return _initialize(rpc_id, params)
    if method == "ping":
        return web.Response(body=_reply(rpc_id, {}), headers=_JSON)
    if method == "tools/list":
        return web.Response(body=_reply(rpc_id, {"tools": TOOLS}), headers=_JSON)
    if method != "tools/call":
        return _error(rpc_id, -32601, f"method not found: {method}")
    name = params.get("name")
    text = str((params.get("arguments") or {}).get("text", ""))
    if name == "echo":
        result = {"content": [{"type": "text", "text": text}], "isError": False}
        return web.Response(body=_reply(rpc_id, result), headers=_JSON)
    if name == "big":
        head = b'{"jsonrpc":"2.0","id":' + orjson.dumps(rpc_id) + b',"result":'
        return web.Response(body=head + _BIG_RESULT + b"}", headers=_JSON)
    if name == "stream":
        return await _stream(request, rpc_id, text)
    return _error(rpc_id, -32602, f"unknown tool: {name}")


async def not_allowed(_request: web.Request) -> web.Response:
    """GET/DELETE: this server offers no server-initiated stream and keeps no session."""
    return web.Response(status=405, headers={"Allow": "POST"})


def build_app() -> web.Application:
    """The aiohttp app serving ``/mcp``."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/mcp", handle)
    app.router.add_get("/mcp", not_allowed)
    app.router.add_delete("/mcp", not_allowed)
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve_forever(build_app(), args.host, args.port)


if __name__ == "__main__":
    main()

"""A small upstream MCP server for tests, built on the official SDK.

Tools: ``echo(text) -> str``, ``add(a, b) -> int`` and ``seen_headers() -> dict`` (the HTTP
headers of the request that called it, so tests can assert what the gateway forwarded).
Runnable as ``python -m tests.servers.echo_server --port N [--require-header NAME=VALUE]
[--json-response]``; with ``--require-header`` any request lacking that header value gets 401.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from starlette.types import ASGIApp, Receive, Scope, Send


def build_server() -> MCPServer:
    """The echo server with its tools."""
    server = MCPServer(name="mcpgw-test-echo")

    @server.tool(description="Echo the given text back.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="The HTTP request headers this call arrived with.")
    def seen_headers(ctx: Context) -> dict[str, str]:
        return {k.lower(): v for k, v in (ctx.headers or {}).items()}

    return server


class RequireHeader:
    """ASGI middleware answering 401 to any HTTP request without ``name: value``."""

    def __init__(self, app: ASGIApp, name: str, value: str) -> None:
        self.app = app
        self.name = name.lower().encode()
        self.value = value.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (self.name, self.value) not in scope["headers"]:
            await send(
                {"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]}
            )
            await send({"type": "http.response.body", "body": b"missing required header"})
            return
        await self.app(scope, receive, send)


def build_app(*, require_header: str | None = None, json_response: bool = False) -> Any:
    """The ASGI app serving the echo server at ``/mcp``."""
    app: Any = build_server().streamable_http_app(json_response=json_response)
    if require_header:
        name, _, value = require_header.partition("=")
        app = RequireHeader(app, name, value)
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the echo server over Streamable HTTP."""
    parser = argparse.ArgumentParser(description="test upstream MCP server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--require-header", help="NAME=VALUE that every request must carry")
    parser.add_argument("--json-response", action="store_true", help="answer with JSON, not SSE")
    args = parser.parse_args(argv)
    app = build_app(require_header=args.require_header, json_response=args.json_response)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

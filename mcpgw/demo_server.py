"""The demo MCP server that ``mcpgw dev`` starts and registers: a few harmless tools.

Built on the official MCP Python SDK; runnable alone with
``python -m mcpgw.demo_server --port 8100``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import uvicorn
from mcp.server import MCPServer


def build_server() -> MCPServer:
    """The demo server with its tools."""
    server = MCPServer(
        name="mcpgw-demo", instructions="Demo tools served behind MCP Gateway.", log_level="WARNING"
    )

    @server.tool(description="Echo the given text back.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="The current UTC time in ISO 8601.")
    def utc_now() -> str:
        return datetime.now(UTC).isoformat()

    return server


def main(argv: list[str] | None = None) -> None:
    """Serve the demo server over Streamable HTTP at ``/mcp``."""
    parser = argparse.ArgumentParser(description="MCP Gateway demo MCP server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args(argv)
    app = build_server().streamable_http_app(host=args.host)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

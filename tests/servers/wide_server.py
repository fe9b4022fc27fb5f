"""A second small upstream for composition tests, built on the official SDK.

Tools ``summarize_the_quarterly_financial_report_for_the_board_of_directors(text)`` (a name long
enough that a virtual server must shorten it) and ``echo(text)`` (the same name as the echo
server's, so a virtual server must keep the two apart); prompt ``greeting(name)`` (ditto);
resource ``wide://notes/today``. Runnable as ``python -m tests.servers.wide_server --port N``.
"""

from __future__ import annotations

import argparse

import uvicorn
from mcp.server import MCPServer

LONG_TOOL = "summarize_the_quarterly_financial_report_for_the_board_of_directors"


def build_server() -> MCPServer:
    """The wide server with its tools."""
    server = MCPServer(name="mcpgw-test-wide")

    @server.tool(name=LONG_TOOL, description="Summarize a long report.")
    def summarize(text: str) -> str:
        return f"summary of {text}"

    @server.tool(description="Echo the given text back, from the wide server.")
    def echo(text: str) -> str:
        return f"wide: {text}"

    @server.prompt(description="Greet someone widely.")
    def greeting(name: str) -> str:
        return f"Wave at {name}."

    @server.resource("wide://notes/today", mime_type="text/plain")
    def today() -> str:
        return "wide notes"

    return server


def main(argv: list[str] | None = None) -> None:
    """Serve the wide server over Streamable HTTP."""
    parser = argparse.ArgumentParser(description="test upstream MCP server (composition)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(build_server().streamable_http_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

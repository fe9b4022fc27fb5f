"""A stdio MCP server for tests, built on the official SDK (``MCPServer``, formerly FastMCP).

Run as ``python tests/servers/stdio_server.py`` (it imports nothing of this repository, so a
data plane can launch it from any working directory). It speaks both protocol eras over
stdio: the first message decides (``initialize``, or a 2026-07-28 request).

Tools: ``echo(text)``, ``add(a, b)``; ``env_keys()`` (the names in its environment, to prove
what a launcher passed), ``env_value(name)``, ``cwd()``, ``pid()`` (which process answered);
``count(steps)`` reports progress once per step; ``ask_name()`` asks the client for a name
(elicitation, a server-to-client request); ``notify_tools_changed()`` sends
``notifications/tools/list_changed``; ``shout(times)`` writes to stderr; ``exit(code)`` ends the
process at once, mid-request (a crash). Prompt ``greet(name)``; resource ``info://server``.
"""

from __future__ import annotations

import os
import sys

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import BaseModel


class Name(BaseModel):
    """What ``ask_name`` asks the client for."""

    name: str


def build_server() -> MCPServer:
    """The server with its tools, prompt and resource."""
    server = MCPServer(name="mcpgw-test-stdio")

    @server.tool(description="Echo the given text back.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="The names of this process's environment variables.")
    def env_keys() -> list[str]:
        return sorted(os.environ)

    @server.tool(description="The value of one environment variable (empty when unset).")
    def env_value(name: str) -> str:
        return os.environ.get(name, "")

    @server.tool(description="This process's working directory.")
    def cwd() -> str:
        return os.getcwd()

    @server.tool(description="This process's id.")
    def pid() -> int:
        return os.getpid()

    @server.tool(description="Count to steps, reporting progress at each step.")
    async def count(steps: int, ctx: Context) -> int:
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps, f"step {step}")
        return steps

    @server.tool(description="Ask the client for a name (elicitation) and greet it.")
    async def ask_name(ctx: Context) -> str:
        answer = await ctx.elicit("What is your name?", Name)
        if answer.action == "accept":
            return f"hello {answer.data.name}"
        return f"no name ({answer.action})"

    @server.tool(description="Send notifications/tools/list_changed.")
    async def notify_tools_changed(ctx: Context) -> str:
        await ctx.session.send_tool_list_changed()
        return "sent"

    @server.tool(description="Write a line to stderr this many times.")
    def shout(times: int) -> str:
        for n in range(times):
            sys.stderr.write(f"stderr line {n} of the stdio test server\n")
        sys.stderr.flush()
        return "shouted"

    @server.tool(description="End this process at once with the given status (a crash).")
    def exit(code: int = 3) -> str:
        os._exit(code)

    @server.prompt(description="A greeting for someone.")
    def greet(name: str) -> str:
        return f"Please greet {name} warmly."

    @server.resource("info://server", description="Who this server is.")
    def info() -> str:
        return "mcpgw stdio test server"

    return server


if __name__ == "__main__":
    build_server().run("stdio")

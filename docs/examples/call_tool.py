"""Call a tool through MCP Gateway with the official MCP Python SDK.

    .venv/bin/python docs/examples/call_tool.py http://127.0.0.1:8080/py/mcp KEY echo '{"text": "hi"}'

Lists the tools the key may see, then calls one and prints the result.
"""

from __future__ import annotations

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


async def main(url: str, key: str, tool: str, arguments: dict[str, object]) -> int:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        tools = await client.list_tools()
        sys.stdout.write("tools: " + ", ".join(t.name for t in tools.tools) + "\n")
        try:
            result = await client.call_tool(tool, arguments)
        except MCPError as exc:
            sys.stdout.write(f"refused: JSON-RPC error {exc.error.code}: {exc.error.message}\n")
            return 1
        sys.stdout.write(result.model_dump_json(indent=2, exclude_none=True) + "\n")
        return 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    arguments = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], arguments)))

"""A small upstream MCP server for tests, built on the official SDK.

Tools: ``echo(text) -> str``, ``add(a, b) -> int`` and ``seen_headers() -> dict`` (the HTTP
headers of the request that called it, so tests can assert what the gateway forwarded; in a
legacy session that includes the upstream's own ``mcp-session-id``). For session flows:
``ask_name()`` asks the client (elicitation, a server-to-client request) and greets the answer;
``notify_tools_changed()`` sends ``notifications/tools/list_changed`` on the session's GET
stream; ``publish_changes(uri)`` publishes a tools list change (and an update of ``uri``) to
2026-07-28 ``subscriptions/listen`` streams; ``count(steps)`` reports progress once per step on
the call's own stream.
Prompts ``greeting(name)`` and ``incident(service)``; resources ``file:///docs/readme.md`` and
``file:///secret/keys.txt``, and the template ``file:///docs/{page}`` (for access-control tests);
completion of ``incident``'s ``service`` and of the template's ``page``.
Runnable as ``python -m tests.servers.echo_server --port N [--require-header NAME=VALUE]
[--require-query NAME=VALUE] [--json-response] [--resumable] [--sse]``; ``--sse`` serves the
legacy HTTP+SSE transport (2024-11-05: GET ``/sse``, POST ``/messages/``) instead; with ``--require-header`` (or
``--require-query``) any request lacking that header (or query parameter) value gets 401; ``--resumable`` keeps every SSE event in memory so a client can resume a
stream with ``Last-Event-ID``.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import (
    Completion,
    CompletionArgument,
    JSONRPCMessage,
    PromptReference,
    ResourceTemplateReference,
)
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

DOCS_TEMPLATE = "file:///docs/{page}"


class Name(BaseModel):
    """What ``ask_name`` asks the client for."""

    name: str


class InMemoryEventStore(EventStore):
    """Every SSE event of every stream, kept for replay after ``Last-Event-ID`` (tests only)."""

    def __init__(self) -> None:
        self._events: list[tuple[EventId, StreamId, JSONRPCMessage | None]] = []
        self._ids = itertools.count(1)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = f"ev-{next(self._ids)}"
        self._events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        found = [i for i, (event_id, _, _) in enumerate(self._events) if event_id == last_event_id]
        if not found:
            return None
        stream_id = self._events[found[0]][1]
        for event_id, stream, message in self._events[found[0] + 1 :]:
            if stream == stream_id and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id


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

    @server.tool(description="Ask the client for a name (elicitation) and greet it.")
    async def ask_name(ctx: Context) -> str:
        answer = await ctx.elicit("What is your name?", Name)
        if answer.action == "accept":
            return f"hello {answer.data.name}"
        return f"no name ({answer.action})"

    @server.tool(description="Send notifications/tools/list_changed on the session's GET stream.")
    async def notify_tools_changed(ctx: Context) -> str:
        await ctx.session.send_tool_list_changed()
        return "sent"

    @server.tool(
        description="Publish a tools list change, and an update of uri when given, to subscriptions/listen."
    )
    async def publish_changes(ctx: Context, uri: str = "") -> str:
        await ctx.notify_tools_changed()
        if uri:
            await ctx.notify_resource_updated(uri)
        return "published"

    @server.tool(description="Count to steps, reporting progress at each step.")
    async def count(steps: int, ctx: Context) -> int:
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps, f"step {step}")
        return steps

    @server.prompt(description="Greet someone.")
    def greeting(name: str) -> str:
        return f"Say hello to {name}."

    @server.prompt(description="Write an incident report.")
    def incident(service: str) -> str:
        return f"Write an incident report for {service}."

    @server.resource("file:///docs/readme.md", mime_type="text/markdown")
    def readme() -> str:
        return "# readme"

    @server.resource("file:///secret/keys.txt", mime_type="text/plain")
    def secret_keys() -> str:
        return "not for everyone"

    @server.resource(DOCS_TEMPLATE, mime_type="text/markdown")
    def docs_page(page: str) -> str:
        return f"# {page}"

    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference, argument: CompletionArgument, _: Any
    ) -> Completion | None:
        if isinstance(ref, PromptReference) and (ref.name, argument.name) == ("incident", "service"):
            values = ["api", "auth", "billing"]
        elif isinstance(ref, ResourceTemplateReference) and (ref.uri, argument.name) == (
            DOCS_TEMPLATE,
            "page",
        ):
            values = ["install", "intro", "usage"]
        else:
            return None
        return Completion(values=[v for v in values if v.startswith(argument.value)])

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


class RequireQuery:
    """ASGI middleware answering 401 to any HTTP request without ``name=value`` in its query."""

    def __init__(self, app: ASGIApp, name: str, value: str) -> None:
        self.app = app
        self.pair = (name, value)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
        if scope["type"] == "http" and self.pair not in query:
            await send(
                {"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]}
            )
            await send({"type": "http.response.body", "body": b"missing required query parameter"})
            return
        await self.app(scope, receive, send)


def build_app(
    *,
    require_header: str | None = None,
    require_query: str | None = None,
    json_response: bool = False,
    resumable: bool = False,
    sse: bool = False,
) -> Any:
    """The ASGI app serving the echo server at ``/mcp`` (or over legacy SSE at ``/sse``)."""
    app: Any
    if sse:
        app = build_server().sse_app()
    else:
        app = build_server().streamable_http_app(
            json_response=json_response, event_store=InMemoryEventStore() if resumable else None
        )
    if require_header:
        name, _, value = require_header.partition("=")
        app = RequireHeader(app, name, value)
    if require_query:
        name, _, value = require_query.partition("=")
        app = RequireQuery(app, name, value)
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the echo server over Streamable HTTP."""
    parser = argparse.ArgumentParser(description="test upstream MCP server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--require-header", help="NAME=VALUE that every request must carry")
    parser.add_argument("--require-query", help="NAME=VALUE that every request's query must carry")
    parser.add_argument("--json-response", action="store_true", help="answer with JSON, not SSE")
    parser.add_argument("--resumable", action="store_true", help="keep SSE events for Last-Event-ID")
    parser.add_argument("--sse", action="store_true", help="serve the legacy HTTP+SSE transport")
    args = parser.parse_args(argv)
    app = build_app(
        require_header=args.require_header,
        require_query=args.require_query,
        json_response=args.json_response,
        resumable=args.resumable,
        sse=args.sse,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

"""The target server of the official MCP conformance suite (``tests/conformance/``), on the official SDK.

The suite's server scenarios call fixed names: tools ``test_*`` (content types, logging,
progress, errors, sampling, elicitation, SSE polling), resources ``test://static-text``,
``test://static-binary``, ``test://watched-resource`` and the template ``test://template/{id}/data``,
prompts ``test_*_prompt*``, ``logging/setLevel``, ``resources/subscribe``, ``completion/complete``,
and the 2026-07-28 fixtures of ``conformance_modern``.
Each scenario's description (``conformance list``, the package's ``dist/index.js``) says what it
expects; this module implements that, nothing more.

Runnable as ``python -m tests.servers.conformance_server --port N``: Streamable HTTP at ``/mcp``,
with an event store (SSE resumption) and a short SSE retry interval (``server-sse-polling``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import warnings
from typing import Any

import uvicorn
from mcp.server import MCPServer
from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts.base import Message, UserMessage
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import (
    AudioContent,
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    ElicitResult,
    EmbeddedResource,
    EmptyResult,
    ImageContent,
    PromptReference,
    ResourceTemplateReference,
    SamplingMessage,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    TextResourceContents,
    UnsubscribeRequestParams,
)

from tests.servers.conformance_modern import (
    custom_headers_tool,
    input_required_tools,
    schema_2020_12_tool,
    stateless_tools,
    text,
)
from tests.servers.echo_server import InMemoryEventStore

PNG_PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV_SILENCE = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
SEP1034_DEFAULTS = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "User name", "default": "John Doe"},
        "age": {"type": "integer", "description": "User age", "default": 30},
        "score": {"type": "number", "description": "User score", "default": 95.5},
        "status": {
            "type": "string",
            "description": "User status",
            "enum": ["active", "inactive", "pending"],
            "default": "active",
        },
        "verified": {"type": "boolean", "description": "Verification status", "default": True},
    },
    "required": [],
}
SEP1330_ENUMS = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {
            "type": "string",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
    "required": [],
}


def legacy_tools(server: MCPServer) -> None:
    """Tools of the handshake-era scenarios (2025-06-18, 2025-11-25)."""

    @server.tool(description="Tests simple text content response")
    def test_simple_text() -> CallToolResult:
        return text("This is a simple text response for testing.")

    @server.tool(description="Tests image content response")
    def test_image_content() -> CallToolResult:
        return CallToolResult(content=[ImageContent(type="image", data=PNG_PIXEL, mime_type="image/png")])

    @server.tool(description="Tests audio content response")
    def test_audio_content() -> CallToolResult:
        return CallToolResult(content=[AudioContent(type="audio", data=WAV_SILENCE, mime_type="audio/wav")])

    @server.tool(description="Tests embedded resource content response")
    def test_embedded_resource() -> CallToolResult:
        resource = TextResourceContents(
            uri="test://embedded-resource",
            mime_type="text/plain",
            text="This is an embedded resource content.",
        )
        return CallToolResult(content=[EmbeddedResource(type="resource", resource=resource)])

    @server.tool(description="Tests response with multiple content types (text, image, resource)")
    def test_multiple_content_types() -> CallToolResult:
        resource = TextResourceContents(
            uri="test://mixed-content-resource",
            mime_type="application/json",
            text=json.dumps({"test": "data", "value": 123}),
        )
        return CallToolResult(
            content=[
                TextContent(type="text", text="Multiple content types test:"),
                ImageContent(type="image", data=PNG_PIXEL, mime_type="image/png"),
                EmbeddedResource(type="resource", resource=resource),
            ]
        )

    @server.tool(description="Tests tool that emits log messages during execution")
    async def test_tool_with_logging(ctx: Context) -> CallToolResult:
        # The scenario asks for ~50 ms between messages: a client must take several notifications.
        await ctx.info("Tool execution started")
        await asyncio.sleep(0.05)
        await ctx.info("Tool processing data")
        await asyncio.sleep(0.05)
        await ctx.info("Tool execution completed")
        return text("Tool with logging executed successfully")

    @server.tool(description="Tests tool that reports progress notifications")
    async def test_tool_with_progress(ctx: Context) -> CallToolResult:
        for step in (0, 50, 100):
            await ctx.report_progress(step, 100, f"Completed step {step} of 100")
            if step < 100:
                await asyncio.sleep(0.05)
        token = (ctx.request_context.meta or {}).get("progress_token", 0)
        return text(str(token))

    @server.tool(description="Tests error response handling")
    def test_error_handling() -> CallToolResult:
        raise RuntimeError("This tool intentionally returns an error for testing")

    @server.tool(description="Tests SSE polling: closes the call's stream mid-call (SEP-1699)")
    async def test_reconnection(ctx: Context) -> CallToolResult:
        await ctx.close_sse_stream()
        await asyncio.sleep(0.2)  # the client reconnects with Last-Event-ID meanwhile
        return text("Reconnection test completed successfully.")

    @server.tool(description="Tests server-initiated sampling (LLM completion request)")
    async def test_sampling(prompt: str, ctx: Context) -> CallToolResult:
        message = SamplingMessage(role="user", content=TextContent(type="text", text=prompt))
        result = await ctx.session.create_message(
            [message], max_tokens=100, related_request_id=ctx.request_context.request_id
        )
        content = result.content
        reply = content.text if isinstance(content, TextContent) else "No response"
        return text(f"LLM response: {reply}")

    async def elicit(ctx: Context, message: str, schema: dict[str, Any]) -> ElicitResult:
        return await ctx.session.elicit_form(
            message, schema, related_request_id=ctx.request_context.request_id
        )

    @server.tool(description="Tests server-initiated elicitation (user input request)")
    async def test_elicitation(message: str, ctx: Context) -> CallToolResult:
        schema = {
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"},
            },
            "required": ["username", "email"],
        }
        result = await elicit(ctx, message, schema)
        return text(f"User response: action={result.action}, content={json.dumps(result.content or {})}")

    @server.tool(description="Tests elicitation with default values per SEP-1034")
    async def test_elicitation_sep1034_defaults(ctx: Context) -> CallToolResult:
        result = await elicit(ctx, "Please review and update the form fields with defaults", SEP1034_DEFAULTS)
        return text(
            f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"
        )

    @server.tool(description="Tests elicitation with enum schema improvements per SEP-1330")
    async def test_elicitation_sep1330_enums(ctx: Context) -> CallToolResult:
        result = await elicit(ctx, "Please select options from the enum fields", SEP1330_ENUMS)
        return text(
            f"Elicitation completed: action={result.action}, content={json.dumps(result.content or {})}"
        )


def resources_and_prompts(server: MCPServer) -> None:
    """Resources, the resource template and the prompts the scenarios read."""

    @server.resource("test://static-text", name="static-text", mime_type="text/plain")
    def static_text() -> str:
        """A static text resource for testing"""
        return "This is the content of the static text resource."

    @server.resource("test://static-binary", name="static-binary", mime_type="image/png")
    def static_binary() -> bytes:
        """A static binary resource (image) for testing"""
        return base64.b64decode(PNG_PIXEL)

    @server.resource("test://template/{id}/data", name="template", mime_type="application/json")
    def template(id: str) -> str:
        """A resource template with parameter substitution"""
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})

    @server.resource("test://watched-resource", name="watched-resource", mime_type="text/plain")
    def watched() -> str:
        """A resource clients may subscribe to"""
        return "Watched resource content"

    @server.prompt(description="A simple prompt without arguments")
    def test_simple_prompt() -> str:
        return "This is a simple prompt for testing."

    @server.prompt(description="A prompt with required arguments")
    def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @server.prompt(description="A prompt that includes an embedded resource")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[Message]:
        resource = TextResourceContents(
            uri=resourceUri, mime_type="text/plain", text="Embedded resource content for testing."
        )
        return [
            UserMessage(EmbeddedResource(type="resource", resource=resource)),
            UserMessage("Please process the embedded resource above."),
        ]

    @server.prompt(description="A prompt that includes image content")
    def test_prompt_with_image() -> list[Message]:
        return [
            UserMessage(ImageContent(type="image", data=PNG_PIXEL, mime_type="image/png")),
            UserMessage("Please analyze the image above."),
        ]

    @server.completion()
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion:
        # The scenario needs the capability and a well-formed answer, not suggestions.
        return Completion(values=[], total=0, has_more=False)


def build_server() -> MCPServer:
    """The conformance target with every fixture the server scenarios call."""
    cacheable = ("tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read")
    server = MCPServer(
        name="mcpgw-conformance-target",
        version="1.0.0",
        tools=[schema_2020_12_tool(), custom_headers_tool()],
        cache_hints={method: CacheHint(ttl_ms=60_000, scope="public") for method in cacheable},
    )
    legacy_tools(server)
    input_required_tools(server)
    stateless_tools(server)
    resources_and_prompts(server)
    subscriptions: set[str] = set()

    async def subscribe(ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
        subscriptions.add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams) -> EmptyResult:
        subscriptions.discard(str(params.uri))
        return EmptyResult()

    async def set_level(ctx: ServerRequestContext[Any], params: SetLevelRequestParams) -> EmptyResult:
        return EmptyResult()

    # MCPServer has no decorators for these three legacy methods; the low-level server does.
    lowlevel = server._lowlevel_server
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    return server


def main(argv: list[str] | None = None) -> None:
    """Serve the conformance target over Streamable HTTP at ``/mcp``."""
    parser = argparse.ArgumentParser(description="MCP conformance target server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    # The suite exercises logging and other features 2026-07-28 deprecates, on purpose.
    warnings.simplefilter("ignore", MCPDeprecationWarning)
    app = build_server().streamable_http_app(
        event_store=InMemoryEventStore(), retry_interval=100, host=args.host
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

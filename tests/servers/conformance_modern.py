"""The conformance target's fixtures for 2026-07-28 scenarios (and the 2020-12 schema tool both eras list).

``input_required_tools``: the ``test_input_required_result_*`` tools and prompt (SEP-2322), which
answer with ``InputRequiredResult`` under the input keys the scenarios expect; the SDK seals the
``requestState`` they set, so a tampered state is refused before a tool runs.
``stateless_tools``: ``server-stateless``'s diagnostic tools (``test_missing_capability``,
``test_trigger_tool_change``, ``test_trigger_prompt_change``). ``schema_2020_12_tool`` and
``custom_headers_tool`` are listed with hand-written input schemas (SEP-1613/2106, SEP-2243).
"""

from __future__ import annotations

import json
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts.base import Message, Prompt, UserMessage
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import (
    MISSING_REQUIRED_CLIENT_CAPABILITY,
    CallToolResult,
    ClientCapabilities,
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequest,
    InputRequiredResult,
    ListRootsRequest,
    ListRootsResult,
    MissingRequiredClientCapabilityErrorData,
    SamplingCapability,
    SamplingMessage,
    TextContent,
)

JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}
CUSTOM_HEADERS_SCHEMA = {
    "type": "object",
    "properties": {
        "region": {
            "type": "string",
            "description": "Mirrored into Mcp-Param-Region",
            "x-mcp-header": "Region",
        },
        "query": {"type": "string", "description": "Not mirrored"},
    },
    "required": ["region"],
}


def text(value: str) -> CallToolResult:
    """A tool result made of one text block."""
    return CallToolResult(content=[TextContent(type="text", text=value)])


def ask(message: str, field: str, kind: str = "string") -> InputRequest:
    """An ``elicitation/create`` input request for one required field."""
    schema = {"type": "object", "properties": {field: {"type": kind}}, "required": [field]}
    return ElicitRequest(params=ElicitRequestFormParams(message=message, requested_schema=schema))


def sample(prompt: str, max_tokens: int) -> InputRequest:
    """A ``sampling/createMessage`` input request for one user message."""
    message = SamplingMessage(role="user", content=TextContent(type="text", text=prompt))
    return CreateMessageRequest(params=CreateMessageRequestParams(messages=[message], max_tokens=max_tokens))


def answer(ctx: Context, key: str) -> Any:
    """The client's response to input request ``key`` in this round (``None`` when absent)."""
    return (ctx.input_responses or {}).get(key)


def accepted(ctx: Context, key: str, field: str) -> str | None:
    """The accepted elicitation value ``field`` of input request ``key``, if any."""
    response = answer(ctx, key)
    if isinstance(response, ElicitResult) and response.action == "accept" and response.content:
        value = response.content.get(field)
        return None if value is None else str(value)
    return None


def schema_2020_12_tool() -> Tool:
    """``json_schema_2020_12_tool``, listed with its raw 2020-12 input schema (SEP-1613)."""

    def json_schema_2020_12_tool(name: str | None = None, address: dict[str, str] | None = None) -> str:
        return f"JSON Schema 2020-12 tool called with: {json.dumps({'name': name, 'address': address})}"

    tool = Tool.from_function(
        json_schema_2020_12_tool,
        description="Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
    )
    tool.parameters = JSON_SCHEMA_2020_12
    return tool


def custom_headers_tool() -> Tool:
    """``test_custom_headers``: its ``region`` argument is mirrored into a header (SEP-2243)."""

    def test_custom_headers(region: str, query: str = "") -> str:
        return f"region={region} query={query}"

    tool = Tool.from_function(test_custom_headers, description="A tool with an x-mcp-header parameter")
    tool.parameters = CUSTOM_HEADERS_SCHEMA
    return tool


def stateless_tools(server: MCPServer) -> None:
    """Diagnostic tools of ``server-stateless`` (2026-07-28): capability gating and list changes."""

    @server.tool(description="Needs the client's sampling capability; refuses with -32021 without it")
    def test_missing_capability(ctx: Context) -> str:
        declared = ctx.client_capabilities
        if declared is None or declared.sampling is None:
            missing = MissingRequiredClientCapabilityErrorData(
                required_capabilities=ClientCapabilities(sampling=SamplingCapability())
            )
            raise MCPError(
                code=MISSING_REQUIRED_CLIENT_CAPABILITY,
                message="this tool needs the sampling capability",
                data=missing.model_dump(by_alias=True, exclude_none=True),
            )
        return "sampling declared"

    def extra_tool() -> str:
        return "a tool added at run time"

    def extra_prompt() -> str:
        return "a prompt added at run time"

    @server.tool(description="Adds or removes a tool, then notifies tools/list_changed")
    async def test_trigger_tool_change(ctx: Context) -> str:
        if any(tool.name == "test_dynamic_tool" for tool in await server.list_tools()):
            server.remove_tool("test_dynamic_tool")
        else:
            server.add_tool(extra_tool, name="test_dynamic_tool", description="Added at run time")
        await ctx.notify_tools_changed()
        return "tool list changed"

    @server.tool(description="Adds or removes a prompt, then notifies prompts/list_changed")
    async def test_trigger_prompt_change(ctx: Context) -> str:
        if any(prompt.name == "test_dynamic_prompt" for prompt in await server.list_prompts()):
            server.remove_prompt("test_dynamic_prompt")
        else:
            prompt = Prompt.from_function(
                extra_prompt, name="test_dynamic_prompt", description="Added at run time"
            )
            server.add_prompt(prompt)
        await ctx.notify_prompts_changed()
        return "prompt list changed"


def input_required_tools(server: MCPServer) -> None:
    """The 2026-07-28 multi-round tools and prompt (SEP-2322), with the input keys the suite expects."""

    @server.tool(description="Asks the user's name through an InputRequiredResult")
    def test_input_required_result_elicitation(ctx: Context) -> CallToolResult | InputRequiredResult:
        name = accepted(ctx, "user_name", "name")
        if name is None:  # first round, or a retry without the answer: ask again
            return InputRequiredResult(input_requests={"user_name": ask("What is your name?", "name")})
        return text(f"Hello, {name}!")

    @server.tool(description="Samples the client's model through an InputRequiredResult")
    def test_input_required_result_sampling(ctx: Context) -> CallToolResult | InputRequiredResult:
        response = answer(ctx, "capital_question")
        if not isinstance(response, CreateMessageResult):
            question = sample("What is the capital of France?", 100)
            return InputRequiredResult(input_requests={"capital_question": question})
        content = response.content
        return text(content.text if isinstance(content, TextContent) else "No text answer")

    @server.tool(description="Lists the client's roots through an InputRequiredResult")
    def test_input_required_result_list_roots(ctx: Context) -> CallToolResult | InputRequiredResult:
        response = answer(ctx, "client_roots")
        if not isinstance(response, ListRootsResult):
            return InputRequiredResult(input_requests={"client_roots": ListRootsRequest()})
        return text("Roots: " + ", ".join(str(root.uri) for root in response.roots))

    @server.tool(description="Round-trips requestState alongside one elicitation")
    def test_input_required_result_request_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        if ctx.request_state == "awaiting-confirm" and answer(ctx, "confirm") is not None:
            return text("state-ok: confirmation received")
        return InputRequiredResult(
            input_requests={"confirm": ask("Please confirm", "ok", "boolean")},
            request_state="awaiting-confirm",
        )

    @server.tool(description="Asks for elicitation, sampling and roots in one round")
    def test_input_required_result_multiple_inputs(ctx: Context) -> CallToolResult | InputRequiredResult:
        keys = ("user_name", "greeting", "client_roots")
        if ctx.request_state == "awaiting-all" and all(answer(ctx, key) is not None for key in keys):
            return text("All inputs received")
        requests = {
            "user_name": ask("What is your name?", "name"),
            "greeting": sample("Generate a greeting", 50),
            "client_roots": ListRootsRequest(),
        }
        return InputRequiredResult(input_requests=requests, request_state="awaiting-all")

    @server.tool(description="Two elicitation rounds, with requestState evolving between them")
    def test_input_required_result_multi_round(ctx: Context) -> CallToolResult | InputRequiredResult:
        state = ctx.request_state or ""
        if state.startswith("round-2:") and (color := accepted(ctx, "step2", "color")) is not None:
            return text(f"{state.removeprefix('round-2:')} likes {color}")
        if state == "round-1" and (name := accepted(ctx, "step1", "name")) is not None:
            step2 = ask("Step 2: What is your favorite color?", "color")
            return InputRequiredResult(input_requests={"step2": step2}, request_state=f"round-2:{name}")
        step1 = ask("Step 1: What is your name?", "name")
        return InputRequiredResult(input_requests={"step1": step1}, request_state="round-1")

    @server.tool(description="Sealed requestState: a tampered one is refused by the SDK")
    def test_input_required_result_tampered_state(ctx: Context) -> CallToolResult | InputRequiredResult:
        if ctx.request_state == "issued" and answer(ctx, "confirm") is not None:
            return text("state verified")
        return InputRequiredResult(
            input_requests={"confirm": ask("Please confirm", "ok", "boolean")}, request_state="issued"
        )

    @server.tool(description="Asks only for inputs the client declared it can give")
    def test_input_required_result_capabilities(ctx: Context) -> CallToolResult | InputRequiredResult:
        if ctx.input_responses:
            return text("inputs received")
        declared = ctx.client_capabilities
        requests: dict[str, InputRequest] = {}
        if declared is not None and declared.sampling is not None:
            requests["sampled"] = sample("Say hello", 20)
        if declared is not None and declared.elicitation is not None:
            requests["asked"] = ask("What is your name?", "name")
        if declared is not None and declared.roots is not None:
            requests["roots"] = ListRootsRequest()
        if not requests:
            return text("the client declared no capability to ask through")
        return InputRequiredResult(input_requests=requests)

    @server.prompt(description="A prompt that needs context from the user first (SEP-2322)")
    def test_input_required_result_prompt(ctx: Context) -> list[Message] | InputRequiredResult:
        context = accepted(ctx, "user_context", "context")
        if context is None:
            question = ask("What context should the prompt use?", "context")
            return InputRequiredResult(input_requests={"user_context": question})
        return [UserMessage(f"Use this context: {context}")]

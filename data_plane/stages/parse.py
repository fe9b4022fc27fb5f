"""Stage 2, parse: the body must be one JSON-RPC 2.0 request, notification or response.

The raw bytes stay in the context and are forwarded unchanged; nothing is re-serialized.
"""

from __future__ import annotations

from dataclasses import replace

import orjson

from data_plane.pipeline.context import Denial, DenialKind, RequestContext

NOT_JSON = Denial(DenialKind.PARSE_ERROR, "request body is not valid JSON")
BATCH = Denial(DenialKind.INVALID_REQUEST, "batch requests are not supported")
NOT_JSON_RPC = Denial(DenialKind.INVALID_REQUEST, "not a JSON-RPC 2.0 request, notification or response")


def parse(ctx: RequestContext) -> RequestContext | Denial:
    """Parse a POSTed JSON-RPC message; GET and DELETE carry no message and pass through."""
    if ctx.http_method != "POST":
        return ctx
    try:
        message = orjson.loads(ctx.body)
    except orjson.JSONDecodeError:
        return NOT_JSON
    if isinstance(message, list):
        return BATCH
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return NOT_JSON_RPC
    has_id = "id" in message
    rpc_id = message.get("id")
    if has_id and not (rpc_id is None or isinstance(rpc_id, str) or type(rpc_id) is int):
        return NOT_JSON_RPC
    method = message.get("method")
    if method is None:
        # A response (to a server-initiated request): exactly one of result / error, and an id.
        if has_id and (("result" in message) != ("error" in message)):
            return replace(ctx, message=message, rpc_id=rpc_id)
        return NOT_JSON_RPC
    if not isinstance(method, str) or not method:
        return NOT_JSON_RPC
    params = message.get("params")
    if params is not None and not isinstance(params, dict | list):
        return NOT_JSON_RPC
    tool = ""
    if method == "tools/call" and isinstance(params, dict):
        name = params.get("name")
        tool = name if isinstance(name, str) else ""
    return replace(ctx, message=message, rpc_method=method, rpc_id=rpc_id, is_request=has_id, tool=tool)

"""Stage 2, parse: the body must be one JSON-RPC 2.0 request, notification or response.

The raw bytes stay in the context and are forwarded unchanged; nothing is re-serialized.
"""

from __future__ import annotations

from typing import Any

import orjson
from msgspec.structs import replace

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from shared.access import ItemKind

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
    kind, item = _item(method, params) if isinstance(params, dict) else (None, "")
    return replace(
        ctx,
        message=message,
        rpc_method=method,
        rpc_id=rpc_id,
        is_request=has_id,
        tool=item if kind == "tool" else "",
        item_kind=kind,
        item=item,
    )


_ITEMS: dict[str, tuple[ItemKind, str]] = {
    "tools/call": ("tool", "name"),
    "prompts/get": ("prompt", "name"),
    "resources/read": ("resource", "uri"),
    "resources/subscribe": ("resource", "uri"),
    "resources/unsubscribe": ("resource", "uri"),
}
"""Methods that use one item of a server -> (item kind, the params key naming it)."""

_COMPLETION_REFS: dict[str, tuple[ItemKind, str]] = {
    "ref/prompt": ("prompt", "name"),
    "ref/resource": ("resource", "uri"),
}


def _item(method: str, params: dict[str, Any]) -> tuple[ItemKind | None, str]:
    """The (kind, name) of the tool, prompt or resource a request uses; (None, "") for none.

    A request naming its item with a non-string still names an item kind: authorization then
    refuses the empty name rather than letting the request through unchecked.
    """
    found = _ITEMS.get(method)
    if found is None:
        if method != "completion/complete":
            return None, ""
        ref = params.get("ref")
        ref_type = ref.get("type") if isinstance(ref, dict) else None
        found = _COMPLETION_REFS.get(ref_type) if isinstance(ref_type, str) else None
        if found is None or not isinstance(ref, dict):
            return None, ""
        params = ref
    kind, key = found
    name = params.get(key)
    return kind, name if isinstance(name, str) else ""

"""Stage 3, routing headers: ``Mcp-Method`` / ``Mcp-Name`` must agree with the body.

Modern-era (2026-07-28) clients mirror the method, and for ``tools/call``, ``prompts/get`` and
``resources/read`` the name or URI, into headers that intermediaries may route on. A request
whose headers say something other than its body is refused with ``HEADER_MISMATCH`` (-32020),
so nothing on the path can be steered by one and execute the other. Requests without
``Mcp-Method`` (the legacy era) pass unchanged; ``MCP-Protocol-Version`` is forwarded as is.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping

from data_plane.pipeline.context import Denial, DenialKind, RequestContext

NAME_BEARING_METHODS: Mapping[str, str] = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
}
"""Method -> the params key mirrored in ``Mcp-Name`` (the official SDK's table)."""

METHOD_MISMATCH = Denial(DenialKind.HEADER_MISMATCH, "Mcp-Method header does not match the body's method")
_B64 = re.compile(r"=\?base64\?(?P<payload>[A-Za-z0-9+/]*={0,2})\?=")


def decode_header_value(value: str) -> str | None:
    """``Mcp-Name`` as sent: verbatim, or the ``=?base64?...?=`` form decoded (None if corrupt)."""
    match = _B64.fullmatch(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match["payload"], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def match_headers(ctx: RequestContext) -> RequestContext | Denial:
    """Refuse a POST whose ``Mcp-Method`` / ``Mcp-Name`` contradicts its JSON-RPC body."""
    header_method = ctx.headers.get("Mcp-Method")
    if header_method is None or ctx.message is None:
        return ctx
    if header_method != ctx.rpc_method:
        return METHOD_MISMATCH
    key = NAME_BEARING_METHODS.get(ctx.rpc_method)
    if key is None or not ctx.item:  # parse extracted the name or URI the header mirrors
        return ctx
    header_name = ctx.headers.get("Mcp-Name")
    if header_name is None or decode_header_value(header_name) != ctx.item:
        return Denial(DenialKind.HEADER_MISMATCH, f"Mcp-Name header does not match the body's {key!r}")
    return ctx

"""Stage 7, authorize: the key's scope covers the server and, for ``tools/call``, the tool.

For ``tools/list`` with a tool-scoped key the context carries the allowed names so the
response path filters the list.
"""

from __future__ import annotations

from dataclasses import replace

from data_plane.pipeline.context import Denial, DenialKind, RequestContext

RULE = "key-scope"
_NO_ACCESS = object()
_UNAUTHENTICATED = Denial(DenialKind.UNAUTHENTICATED, "no principal")


def authorize(ctx: RequestContext) -> RequestContext | Denial:
    """Check the principal's scope against the server and the tool."""
    principal = ctx.principal
    if principal is None:
        return _UNAUTHENTICATED
    tools = principal.servers.get(ctx.slug, _NO_ACCESS)
    if tools is _NO_ACCESS:
        return Denial(
            DenialKind.SERVER_FORBIDDEN, f"key '{principal.name}' has no access to server '{ctx.slug}'", RULE
        )
    if tools is None:
        return replace(ctx, rule=RULE)
    assert isinstance(tools, frozenset)
    if ctx.rpc_method == "tools/call" and ctx.tool not in tools:
        return Denial(
            DenialKind.TOOL_FORBIDDEN,
            f"tool '{ctx.tool}' is not allowed for key '{principal.name}' on server '{ctx.slug}'",
            RULE,
        )
    if ctx.rpc_method == "tools/list":
        return replace(ctx, rule=RULE, tool_filter=tools)
    return replace(ctx, rule=RULE)

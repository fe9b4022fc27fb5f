"""Stage 5, route: server slug -> upstream (or virtual server) of the context's snapshot."""

from __future__ import annotations

from msgspec.structs import replace

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.stages.authenticate import NOT_READY


def route(ctx: RequestContext) -> RequestContext | Denial:
    """Find the upstream server this request is for."""
    snapshot = ctx.snapshot
    if snapshot is None:
        return NOT_READY
    upstream = snapshot.servers.get(ctx.slug)
    if upstream is None:
        virtual = snapshot.virtual_servers.get(ctx.slug)
        if virtual is not None:
            return replace(ctx, virtual=virtual)
        return Denial(DenialKind.NOT_FOUND, f"no server '{ctx.slug}' on this gateway")
    return replace(ctx, upstream=upstream)

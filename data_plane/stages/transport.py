"""Stage 1, transport: ``Host`` and ``Origin`` must name this data plane (DNS-rebinding defence).

Runs first, before the body is even parsed. The data plane rewrites ``Host`` toward the
upstream, so it checks the incoming one itself: a request for a name this data plane does not
serve is misdirected (421, as the official SDK answers). A browser's ``Origin`` that is not on
the allow-list is refused with 403, as the MCP spec requires; a request without ``Origin``
(every non-browser client) passes.
"""

from __future__ import annotations

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.runtime.transport_policy import TransportPolicy

BAD_HOST = Denial(DenialKind.HOST_NOT_ALLOWED, "the Host header does not name this gateway")
BAD_ORIGIN = Denial(DenialKind.ORIGIN_FORBIDDEN, "requests from this Origin are not allowed")


def check_transport(ctx: RequestContext, policy: TransportPolicy) -> RequestContext | Denial:
    """Refuse a foreign ``Host`` or ``Origin``; everything else passes unchanged."""
    if not policy.host_allowed(ctx.headers.get("Host")):
        return BAD_HOST
    origin = ctx.headers.get("Origin")
    if origin is not None and not policy.origin_allowed(origin):
        return BAD_ORIGIN
    return ctx

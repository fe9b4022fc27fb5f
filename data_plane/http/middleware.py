"""The top-level middleware: the one place allowed to catch every exception."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from data_plane.errors import internal_error_response

logger = logging.getLogger(__name__)


@web.middleware
async def last_resort(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn any unexpected exception into a logged 500 JSON-RPC error (never a bare traceback)."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:  # the single top-level handler, by design
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return internal_error_response()

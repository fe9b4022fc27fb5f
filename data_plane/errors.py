"""The one module that maps denials and failures to HTTP status and JSON-RPC error bodies.

Stages return :class:`~data_plane.pipeline.context.Denial` values; only this module decides
which HTTP status, JSON-RPC error code and audit status each kind becomes.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from data_plane.pipeline.context import Denial, DenialKind, Outcome, RequestContext

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
UNAUTHENTICATED = -32001
SERVER_FORBIDDEN = -32002
TOOL_FORBIDDEN = -32003
NOT_FOUND = -32004
NOT_READY = -32005
UPSTREAM_UNREACHABLE = -32006
UPSTREAM_TIMEOUT = -32007
SESSION_NOT_FOUND = -32008
ORIGIN_FORBIDDEN = -32009
HOST_NOT_ALLOWED = -32010
INSUFFICIENT_SCOPE = -32011
UPSTREAM_CREDENTIAL = -32012
"""The gateway could not obtain the credential it sends the upstream (token endpoint failed)."""
AUTHN_UNAVAILABLE = -32013
"""The workspace's authentication webhook could not verify the credential (failure mode ``unavailable``)."""
EXCHANGE_REFUSED = -32014
"""Token exchange (RFC 8693): the caller's token cannot be exchanged for the upstream."""
USER_CONNECTION_REQUIRED = -32015
"""Per-user OAuth: the caller must connect (or reconnect) their own account; the message says where."""
HEADER_MISMATCH = -32020
"""The spec's code for ``Mcp-Method``/``Mcp-Name`` disagreeing with the body (``mcp_types.HEADER_MISMATCH``)."""

JSON_CONTENT_TYPE = "application/json"

# kind -> (HTTP status, JSON-RPC code, audit status)
_TABLE: dict[DenialKind, tuple[int, int, str]] = {
    DenialKind.PARSE_ERROR: (400, PARSE_ERROR, "bad_request"),
    DenialKind.INVALID_REQUEST: (400, INVALID_REQUEST, "bad_request"),
    DenialKind.HEADER_MISMATCH: (400, HEADER_MISMATCH, "bad_request"),
    # Origin and Host answers follow the MCP spec (403) and the official SDK (421 Misdirected Request).
    DenialKind.ORIGIN_FORBIDDEN: (403, ORIGIN_FORBIDDEN, "denied"),
    DenialKind.HOST_NOT_ALLOWED: (421, HOST_NOT_ALLOWED, "denied"),
    # The spec's answer to an unknown or expired session: 404, and the client re-initializes.
    DenialKind.SESSION_NOT_FOUND: (404, SESSION_NOT_FOUND, "not_found"),
    DenialKind.NOT_READY: (503, NOT_READY, "not_ready"),
    DenialKind.UNAUTHENTICATED: (401, UNAUTHENTICATED, "unauthenticated"),
    DenialKind.INVALID_TOKEN: (401, UNAUTHENTICATED, "unauthenticated"),
    DenialKind.INSUFFICIENT_SCOPE: (403, INSUFFICIENT_SCOPE, "denied"),
    DenialKind.AUTHN_UNAVAILABLE: (503, AUTHN_UNAVAILABLE, "unauthenticated"),
    DenialKind.NOT_FOUND: (404, NOT_FOUND, "not_found"),
    DenialKind.SERVER_FORBIDDEN: (403, SERVER_FORBIDDEN, "denied"),
    DenialKind.TOOL_FORBIDDEN: (403, TOOL_FORBIDDEN, "denied"),
    DenialKind.UPSTREAM_UNREACHABLE: (502, UPSTREAM_UNREACHABLE, "upstream_error"),
    DenialKind.UPSTREAM_TIMEOUT: (504, UPSTREAM_TIMEOUT, "upstream_error"),
    DenialKind.UPSTREAM_CREDENTIAL: (502, UPSTREAM_CREDENTIAL, "upstream_error"),
    # 403, not 401: the caller is authenticated; a 401 would send MCP clients into the gateway's
    # own OAuth flow, which cannot help. The JSON-RPC message tells the user what to do.
    DenialKind.USER_CONNECTION_REQUIRED: (403, USER_CONNECTION_REQUIRED, "denied"),
    DenialKind.EXCHANGE_REFUSED: (403, EXCHANGE_REFUSED, "denied"),
    # What the upstream itself would answer for an unknown task or method: a JSON-RPC error.
    DenialKind.TASK_NOT_FOUND: (200, INVALID_PARAMS, "not_found"),
    DenialKind.METHOD_NOT_OFFERED: (200, METHOD_NOT_FOUND, "error"),
}


def error_body(rpc_id: Any, code: int, message: str, data: dict[str, str] | None = None) -> bytes:
    """A JSON-RPC 2.0 error response body."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data:
        error["data"] = data
    return orjson.dumps({"jsonrpc": "2.0", "id": rpc_id, "error": error})


def resource_metadata_url(public_base_url: str, slug: str) -> str:
    """The RFC 9728 protected-resource metadata URL for ``/{slug}/mcp``."""
    return f"{public_base_url}/.well-known/oauth-protected-resource/{slug}/mcp"


def _quoted(text: str) -> str:
    """An RFC 6750 auth-param value: printable ASCII without quote or backslash."""
    return "".join(c for c in text if " " <= c <= "~" and c not in '"\\')[:200]


def bearer_challenge(denial: Denial, metadata_url: str) -> str:
    """The ``WWW-Authenticate`` value for an authentication denial ("" for other denials).

    No token (or not Bearer): the bare challenge naming the RFC 9728 metadata. A refused token:
    ``error="invalid_token"`` with a description. A valid token lacking scopes: 403 with
    ``error="insufficient_scope"`` and the scopes to ask for.
    """
    metadata = f'resource_metadata="{_quoted(metadata_url)}"'
    if denial.kind is DenialKind.UNAUTHENTICATED:
        return f"Bearer {metadata}"
    if denial.kind is DenialKind.INVALID_TOKEN:
        return f'Bearer error="invalid_token", error_description="{_quoted(denial.reason)}", {metadata}'
    if denial.kind is DenialKind.INSUFFICIENT_SCOPE:
        return f'Bearer error="insufficient_scope", scope="{_quoted(denial.scope)}", {metadata}'
    return ""


def denial_response(
    ctx: RequestContext, denial: Denial, public_base_url: str
) -> tuple[web.Response, Outcome]:
    """The HTTP response for a denial, and the outcome the audit stage records."""
    status, code, audit_status = _TABLE[denial.kind]
    if denial.kind is DenialKind.TOOL_FORBIDDEN and ctx.is_request:
        # A refused tool call is an ordinary JSON-RPC error response to that request.
        status = 200
    data = {"reason": denial.reason}
    if denial.rule:
        data["rule"] = denial.rule
    body = error_body(ctx.rpc_id, code, denial.reason, data)
    response = web.Response(status=status, body=body, content_type=JSON_CONTENT_TYPE)
    if denial.kind is DenialKind.AUTHN_UNAVAILABLE:
        # Not a verdict on the credential: the client should retry, not start a new login.
        response.headers["Retry-After"] = "5"
    challenge = bearer_challenge(denial, resource_metadata_url(public_base_url, ctx.slug))
    if challenge:
        response.headers["WWW-Authenticate"] = challenge
    outcome = Outcome(
        status=audit_status, http_status=status, error_code=code, reason=denial.reason, rule=denial.rule
    )
    return response, outcome


def internal_error_response() -> web.Response:
    """The 500 answer of last resort (details go to the log, never to the client)."""
    body = error_body(None, INTERNAL_ERROR, "internal error in the gateway")
    return web.Response(status=500, body=body, content_type=JSON_CONTENT_TYPE)


def internal_error_outcome(reason: str) -> Outcome:
    """The audit outcome of a request that failed inside the gateway."""
    return Outcome(status="error", http_status=500, error_code=INTERNAL_ERROR, reason=reason)

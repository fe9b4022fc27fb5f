"""Stage 9, upstream: forward to the server and stream its answer back unbuffered.

Only an allow-list of MCP request headers goes upstream (never the client's
``Authorization``, ``Cookie`` or identity headers), plus the snapshot's injected credentials
(static headers, bearer or API key, an OAuth client-credentials token, the calling user's own
token from the control plane's broker, or a token exchanged for the caller's IdP token) and, when the server
asks for it, the caller's identity (a gateway-signed JWT and/or plain headers). The client's
``Mcp-Session-Id`` is the gateway's sealed token: upstream gets the session id the token
carries, and an upstream ``Mcp-Session-Id`` reaches the client only sealed. The response is
written to the sink chunk by chunk as it arrives; only a ``tools/list`` answer for a
tool-scoped key is rewritten, and never an upstream error status. The one answer held back
is the (small) ``initialize`` answer that opens a session, until its negotiated protocol
version is known, because that version is sealed into the session id sent in its headers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
from multidict import CIMultiDict

from data_plane.pipeline.context import Denial, DenialKind, Outcome, RequestContext
from data_plane.pipeline.sink import ResponseSink
from data_plane.runtime.compiled import Upstream
from data_plane.runtime.identity_signer import identity_headers
from data_plane.runtime.responses import (
    INSPECT_LIMIT,
    NO_REQUEST,
    Rewrite,
    SseInspector,
    error_code_of,
    error_code_of_message,
    negotiated_version,
    parse_message,
    rewrite_json,
)
from data_plane.runtime.sessions import SessionClaims, SessionSealer
from data_plane.runtime.task_ids import without_task_listing
from data_plane.runtime.token_exchange import exchange_key
from data_plane.runtime.upstream import UpstreamClient
from data_plane.runtime.upstream_credentials import CLIENT_IDENTITY_HEADERS
from data_plane.runtime.upstream_tokens import AccessRefused, CredentialUnavailable
from data_plane.runtime.user_tokens import UserTokenKey
from data_plane.stages.authorize import caller_of
from data_plane.stages.session import SESSION_HEADER

FORWARDED_REQUEST_HEADERS = frozenset(
    {
        "content-type",
        "accept",
        "mcp-protocol-version",
        "last-event-id",
        "mcp-method",
        "mcp-name",
    }
)
"""``Mcp-Session-Id`` is not on the list: the session stage's opened upstream id replaces it."""
FORWARDED_RESPONSE_HEADERS = (
    "Content-Type",
    "MCP-Protocol-Version",
    "Cache-Control",
    "Content-Encoding",
)
"""``Mcp-Session-Id`` is not on the list either: :func:`relay` sends the sealed one."""


def upstream_headers(
    client_headers: Mapping[str, str], upstream: Upstream, session: SessionClaims | None = None
) -> CIMultiDict[str]:
    """The request headers sent upstream: the allow-list, the upstream session id, the credentials."""
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in client_headers.items():
        lower = name.lower()
        if lower in CLIENT_IDENTITY_HEADERS:
            continue
        if lower in FORWARDED_REQUEST_HEADERS or lower.startswith("mcp-param-"):
            out.add(name, value)
    if upstream.identity is not None:
        for name in upstream.identity.header_names:
            out.popall(name, None)
    if session is not None:
        out[SESSION_HEADER] = session.upstream_session_id
    for name, value in upstream.injected_headers:
        out[name] = value
    return out


async def call_upstream(ctx: RequestContext, client: UpstreamClient) -> aiohttp.ClientResponse | Denial:
    """Send the request upstream; a denial when the server cannot be reached in time."""
    upstream = ctx.upstream
    if upstream is None:
        return Denial(DenialKind.NOT_FOUND, f"no server '{ctx.slug}' on this gateway")
    timeout = upstream.stream_timeout if ctx.http_method == "GET" else upstream.request_timeout
    headers = upstream_headers(ctx.headers, upstream, ctx.session)
    token = await upstream_token(ctx, client, upstream)
    if isinstance(token, Denial):
        return token
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if upstream.identity is not None and ctx.principal is not None:
        signer = ctx.snapshot.identity_signer if ctx.snapshot is not None else None
        for name, value in identity_headers(ctx.principal, upstream.identity, signer, now=int(time.time())):
            headers[name] = value
    try:
        return await client.open(ctx.http_method, upstream.url, headers, ctx.body, timeout)
    except TimeoutError:
        return Denial(DenialKind.UPSTREAM_TIMEOUT, f"server '{ctx.slug}' did not answer in time")
    except aiohttp.ClientError as exc:
        return Denial(
            DenialKind.UPSTREAM_UNREACHABLE, f"server '{ctx.slug}' is unreachable: {type(exc).__name__}"
        )


async def upstream_token(
    ctx: RequestContext, client: UpstreamClient, upstream: Upstream
) -> str | Denial | None:
    """The OAuth token that goes upstream (client credentials, the user's own, or exchanged);
    ``None`` when the server takes none; a denial saying why when there is none to send."""
    try:
        if upstream.token_source is not None:
            return await client.tokens.token(upstream.token_source)
        if upstream.per_user:
            user_id = _user_of(ctx)
            if not user_id:
                return Denial(
                    DenialKind.USER_CONNECTION_REQUIRED,
                    f"server '{ctx.slug}' acts with each user's own account, and this caller is no gateway "
                    "user (a workspace key, or an identity-provider subject linked to no user): call it with "
                    "a key owned by a user or with your identity provider's token",
                )
            return await client.user_tokens.token(UserTokenKey(user_id=user_id, server=ctx.slug))
        if upstream.exchange is not None:
            subject_token = _idp_token(ctx)
            if subject_token is None:
                return Denial(
                    DenialKind.EXCHANGE_REFUSED,
                    f"server '{ctx.slug}' exchanges the caller's identity-provider token (RFC 8693): call it "
                    "with a token from your identity provider, not a gateway key",
                )
            return await client.exchanged.token(exchange_key(upstream.exchange, subject_token))
    except AccessRefused as exc:
        kind = DenialKind.USER_CONNECTION_REQUIRED if upstream.per_user else DenialKind.EXCHANGE_REFUSED
        return Denial(kind, str(exc))
    except CredentialUnavailable as exc:
        return Denial(
            DenialKind.UPSTREAM_CREDENTIAL,
            f"the upstream credential for server '{ctx.slug}' could not be obtained: {exc}",
        )
    return None


def _user_of(ctx: RequestContext) -> str:
    """The gateway user the caller is ("" for none)."""
    if ctx.principal is None or ctx.snapshot is None:
        return ""
    return caller_of(ctx.principal, ctx.snapshot).user_id


def _idp_token(ctx: RequestContext) -> str | None:
    """The caller's identity-provider access token, when it authenticated with one."""
    if ctx.principal is None or not ctx.principal.identity_provider:
        return None
    scheme, _, token = ctx.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _answer_rewrite(ctx: RequestContext) -> tuple[Rewrite | None, bytes]:
    """What the answer's messages need changed, and a byte string every message needing it holds."""
    if ctx.tasks is not None:
        return ctx.tasks.seal_in, b'"taskId"'
    if ctx.rpc_method == "initialize":
        return without_task_listing, b'"tasks"'
    return None, b""


def _status(http_status: int, error_code: int) -> str:
    if http_status >= 500:
        return "upstream_error"
    if http_status >= 400 or error_code:
        return "error"
    return "ok"


def client_session_id(ctx: RequestContext, upstream_id: str, version: str, sealer: SessionSealer) -> str:
    """The ``Mcp-Session-Id`` the client gets for the upstream's ``upstream_id``.

    The token the client already holds when it still names that upstream session (so its
    issue time stays the session's start); else a new token sealed for this server and key.
    """
    session = ctx.session
    if session is not None and session.upstream_session_id == upstream_id:
        return ctx.headers[SESSION_HEADER]
    if not version:
        version = session.protocol_version if session is not None else _requested_version(ctx)
    principal = ctx.principal
    claims = SessionClaims(
        server=ctx.slug,
        upstream_session_id=upstream_id,
        key_id=principal.key_id if principal is not None else "",
        protocol_version=version,
        issued_at=int(time.time()),
    )
    return sealer.seal(claims)


def _requested_version(ctx: RequestContext) -> str:
    """The version the client asked for (``initialize`` params, else its header)."""
    params: Any = ctx.message.get("params") if ctx.message is not None else None
    version = params.get("protocolVersion") if isinstance(params, dict) else None
    if isinstance(version, str):
        return version
    return ctx.headers.get("MCP-Protocol-Version", "")


async def _hold_sse(response: aiohttp.ClientResponse, sse: SseInspector) -> bytes:
    """Read the SSE stream until the answer event passed (or enough was held); return it all."""
    held: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        held.append(sse.feed(chunk))
        size += len(chunk)
        if sse.done or size > INSPECT_LIMIT:
            break
    else:
        held.append(sse.flush())
    return b"".join(held)


def _settle_if_delivered(ctx: RequestContext, status: int, sse: SseInspector, sink: ResponseSink) -> None:
    if sse.done and not sse.delivered:
        sse.delivered = True
        sink.settle(Outcome(_status(status, sse.error_code), status, sse.error_code, "", ctx.rule))


async def _stream_sse(
    ctx: RequestContext, response: aiohttp.ClientResponse, sse: SseInspector, sink: ResponseSink
) -> None:
    """Pass the rest of an SSE stream through ``sse``; settles the outcome once the answer is out."""
    async for chunk in response.content.iter_any():
        out = sse.feed(chunk)
        if out:
            await sink.write(out)
            _settle_if_delivered(ctx, response.status, sse, sink)
    rest = sse.flush()
    if rest:
        await sink.write(rest)


async def _relay_initialize(
    ctx: RequestContext,
    response: aiohttp.ClientResponse,
    sink: ResponseSink,
    headers: dict[str, str],
    upstream_id: str,
    sealer: SessionSealer,
    sse: SseInspector | None,
) -> int:
    """The answer to an ``initialize`` that opened a session; returns its error code."""
    if sse is not None:
        held = await _hold_sse(response, sse)
        headers[SESSION_HEADER] = client_session_id(
            ctx, upstream_id, negotiated_version(sse.response), sealer
        )
        await sink.start(response.status, headers, None)
        if held:
            await sink.write(held)
            _settle_if_delivered(ctx, response.status, sse, sink)
        await _stream_sse(ctx, response, sse, sink)
        return sse.error_code
    body = await response.read()
    message = parse_message(body)
    if without_task_listing(message):
        body = orjson.dumps(message)
    headers[SESSION_HEADER] = client_session_id(ctx, upstream_id, negotiated_version(message), sealer)
    await sink.start(response.status, headers, len(body))
    await sink.write(body)
    return error_code_of_message(message)


async def relay(
    ctx: RequestContext, response: aiohttp.ClientResponse, sink: ResponseSink, *, sealer: SessionSealer
) -> Outcome:
    """Stream ``response`` to the sink; returns the outcome to audit. Releases the response."""
    status = response.status
    up_headers = response.headers
    headers = {
        name: value for name in FORWARDED_RESPONSE_HEADERS if (value := up_headers.get(name)) is not None
    }
    content_type = up_headers.get("Content-Type", "")
    inspect = status == 200 and ctx.is_request and "Content-Encoding" not in up_headers
    is_sse = content_type.startswith("text/event-stream")
    is_json = content_type.startswith("application/json")
    upstream_id = up_headers.get(SESSION_HEADER)
    rewrite, marker = _answer_rewrite(ctx)
    sse = SseInspector(ctx.rpc_id, ctx.list_filter, rewrite, marker) if inspect and is_sse else None
    if ctx.http_method == "GET" and rewrite is not None and is_sse and status == 200:
        # The GET stream answers no request: every event with a task id in it is sealed.
        sse = SseInspector(NO_REQUEST, None, rewrite, marker)
    error_code = 0
    try:
        if upstream_id is not None and inspect and ctx.rpc_method == "initialize" and (sse or is_json):
            error_code = await _relay_initialize(ctx, response, sink, headers, upstream_id, sealer, sse)
            sink.settle(Outcome(_status(status, error_code), status, error_code, "", ctx.rule))
            await sink.end()
            return Outcome(_status(status, error_code), status, error_code, "", ctx.rule)
        if upstream_id is not None:
            headers[SESSION_HEADER] = client_session_id(ctx, upstream_id, "", sealer)
        if inspect and is_json and (ctx.list_filter is not None or rewrite is not None):
            # The whole list must be seen to filter it (or the whole answer to seal its task ids).
            body, error_code = rewrite_json(await response.read(), ctx.list_filter, rewrite)
            await sink.send(status, headers, body)
        elif is_json and ctx.http_method != "GET" and 0 <= (response.content_length or -1) <= INSPECT_LIMIT:
            # A small, complete JSON message: the client can use none of it before its last byte,
            # so it leaves in one response (one write) rather than as headers, chunks and an end.
            body = await response.read()
            await sink.send(status, headers, body)
            error_code = error_code_of(body) if inspect else 0
        elif sse is not None:
            await sink.start(status, headers, None)
            if ctx.http_method == "GET":
                sink.settle(Outcome(_status(status, 0), status, 0, "", ctx.rule))
            await _stream_sse(ctx, response, sse, sink)
            error_code = sse.error_code
        else:
            await sink.start(status, headers, response.content_length)
            if ctx.http_method == "GET":
                # A GET stream has no answer to wait for: the client hanging up is its normal end.
                sink.settle(Outcome(_status(status, 0), status, 0, "", ctx.rule))
            keep = inspect and is_json and (response.content_length or 0) <= INSPECT_LIMIT
            kept: list[bytes] = []
            async for chunk in response.content.iter_any():
                await sink.write(chunk)
                if keep:
                    kept.append(chunk)
            if kept:
                error_code = error_code_of(b"".join(kept))
        sink.settle(Outcome(_status(status, error_code), status, error_code, "", ctx.rule))
        await sink.end()
    except ConnectionResetError:
        # Writing to a client that went away (aiohttp's reset error is also a ClientError).
        # SSE clients often hang up right after the response event: that call went fine.
        if sink.settled is not None:
            return sink.settled
        return Outcome("error", status, error_code, "client disconnected", ctx.rule)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Outcome(
            "upstream_error", status, error_code, f"upstream stream broke: {type(exc).__name__}", ctx.rule
        )
    finally:
        response.release()
    return Outcome(_status(status, error_code), status, error_code, "", ctx.rule)

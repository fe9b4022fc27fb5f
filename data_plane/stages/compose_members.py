"""Talking to the members of a virtual server: one request to one member, read or streamed.

A member request is the client's request re-aimed: the same principal, credentials of the member
(``stages/upstream.call_upstream`` does the injection, so nothing of the client's token goes
upstream), the member's own session id and negotiated version, and a body naming the member's
original tool, prompt or resource.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from msgspec.structs import replace
from multidict import CIMultiDict, CIMultiDictProxy

from data_plane.pipeline.context import Denial, RequestContext
from data_plane.runtime.responses import INSPECT_LIMIT
from data_plane.runtime.sessions import SessionClaims
from data_plane.runtime.upstream import UpstreamClient
from data_plane.runtime.virtual.model import Member, MemberSessions, unpack_sessions
from data_plane.runtime.virtual.sse import SseSplitter, event_message
from data_plane.stages.upstream import call_upstream

log = logging.getLogger(__name__)

SESSION_HEADER = "Mcp-Session-Id"
_READ_LIMIT = 16 * 1024 * 1024
"""The most a member's list answer may hold (JSON or SSE) before it is dropped."""
JOIN_CLIENT_INFO = {"name": "mcpgw-virtual-server", "version": "1"}


class MemberFailed(Exception):
    """A member could not answer (unreachable, timeout, error status, no answer)."""


class SessionGone(MemberFailed):
    """The member no longer knows the session (it restarted): 404 to a request with one."""


@dataclass(frozen=True, slots=True)
class MemberRoute:
    """How to reach one member for this request."""

    member: Member
    session_id: str
    """Its upstream session id ("" when the request carries none)."""
    version: str
    """``MCP-Protocol-Version`` for it ("" keeps the client's)."""
    transient: bool = False
    """Joined for this request only (the client's session lacks the member): deleted after."""


def member_sessions(ctx: RequestContext) -> MemberSessions | None:
    """The member sessions of the client's token (``None``: no session, the stateless era)."""
    if ctx.session is None:
        return None
    return unpack_sessions(ctx.session.upstream_session_id) or {}


def _headers(ctx: RequestContext, route: MemberRoute, extra: Mapping[str, str]) -> CIMultiDictProxy[str]:
    headers: CIMultiDict[str] = CIMultiDict(ctx.headers)
    headers.popall(SESSION_HEADER, None)
    headers.popall("Last-Event-ID", None)
    headers.popall("Mcp-Name", None)  # names the virtual server's item; the caller re-adds the member's
    if route.version:
        headers["MCP-Protocol-Version"] = route.version
    for name, value in extra.items():
        headers[name] = value
    return CIMultiDictProxy(headers)


async def open_member(
    ctx: RequestContext,
    client: UpstreamClient,
    route: MemberRoute,
    *,
    method: str = "POST",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> aiohttp.ClientResponse:
    """Send one request to a member; the caller releases the response. :class:`MemberFailed`."""
    member = route.member
    session = None
    if route.session_id:
        session = SessionClaims(member.server, route.session_id, "", route.version, 0)
    member_ctx = replace(
        ctx,
        http_method=method,
        slug=member.server,
        upstream=member.upstream,
        session=session,
        body=body,
        headers=_headers(ctx, route, headers or {}),
    )
    reply = await call_upstream(member_ctx, client)
    if isinstance(reply, Denial):
        raise MemberFailed(reply.reason)
    return reply


async def read_answer(response: aiohttp.ClientResponse, rpc_id: Any) -> dict[str, Any]:
    """The JSON-RPC response to ``rpc_id`` in a member's answer (JSON or SSE). Releases it."""
    try:
        if response.status == 404 and response.request_info.headers.get(SESSION_HEADER):
            raise SessionGone("HTTP 404: the member lost the session")
        if response.status >= 400:
            raise MemberFailed(f"HTTP {response.status}")
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            body = await response.content.read(_READ_LIMIT)
            message = orjson.loads(body)
            if isinstance(message, dict):
                return message
            raise MemberFailed("the answer is not a JSON-RPC message")
        if content_type.startswith("text/event-stream"):
            splitter = SseSplitter()
            size = 0
            async for chunk in response.content.iter_any():
                size += len(chunk)
                if size > _READ_LIMIT:
                    break
                for event in splitter.feed(chunk):
                    message = event_message(event)
                    if isinstance(message, dict) and "method" not in message and message.get("id") == rpc_id:
                        return message
            raise MemberFailed("the stream ended without an answer")
        raise MemberFailed(f"unexpected content type {content_type[:40]!r}")
    except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
        raise MemberFailed(type(exc).__name__) from exc
    finally:
        response.release()


def rpc_body(rpc_id: Any, method: str, params: Mapping[str, Any] | None = None) -> bytes:
    """A JSON-RPC request (or, with ``rpc_id`` ``None``, a notification) body."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if rpc_id is not None:
        message["id"] = rpc_id
    if params is not None:
        message["params"] = params
    return orjson.dumps(message)


async def ask_member(
    ctx: RequestContext, client: UpstreamClient, route: MemberRoute, method: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """One request to a member, its ``result`` returned; :class:`MemberFailed` otherwise."""
    rpc_id = f"mcpgw-{method}"
    headers = {"Mcp-Method": method} if "Mcp-Method" in ctx.headers else {}
    client_params = ctx.message.get("params") if ctx.message is not None else None
    meta = client_params.get("_meta") if isinstance(client_params, dict) else None
    if isinstance(meta, dict):
        # 2026-07-28 requests carry the client's version, info and capabilities in ``_meta``.
        params = {**params, "_meta": meta}
    response = await open_member(ctx, client, route, body=rpc_body(rpc_id, method, params), headers=headers)
    answer = await read_answer(response, rpc_id)
    result = answer.get("result")
    if not isinstance(result, dict):
        raise MemberFailed(f"{method} answered with an error")
    return result


async def initialize_member(
    ctx: RequestContext, client: UpstreamClient, member: Member, params: Mapping[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """Open a session with a member: (session id, negotiated version, its initialize result)."""
    route = MemberRoute(member, "", "")
    response = await open_member(ctx, client, route, body=rpc_body("mcpgw-initialize", "initialize", params))
    session_id = response.headers.get(SESSION_HEADER, "")
    answer = await read_answer(response, "mcpgw-initialize")
    result = answer.get("result")
    if not isinstance(result, dict):
        raise MemberFailed("initialize answered with an error")
    version = result.get("protocolVersion")
    version = version if isinstance(version, str) else ""
    joined = MemberRoute(member, session_id, version)
    await notify_member(ctx, client, joined, rpc_body(None, "notifications/initialized"))
    return session_id, version, result


async def notify_member(ctx: RequestContext, client: UpstreamClient, route: MemberRoute, body: bytes) -> None:
    """Send a notification or a response to a member; failures are logged, not raised."""
    try:
        response = await open_member(ctx, client, route, body=body)
        async with response:
            await response.content.read(INSPECT_LIMIT)
    except (MemberFailed, aiohttp.ClientError, TimeoutError) as exc:
        log.info("virtual server %s: member %s missed a message: %s", ctx.slug, route.member.server, exc)


async def route_to(
    ctx: RequestContext, client: UpstreamClient, member: Member, *, rejoin: bool = False
) -> MemberRoute:
    """How this request reaches ``member``: its session from the client's token, none in the
    stateless era, or a session joined for this request when the token lacks the member (or,
    with ``rejoin``, the member lost it)."""
    sessions = member_sessions(ctx)
    if sessions is None:
        return MemberRoute(member, "", "")
    found = sessions.get(member.server)
    if found is not None and not rejoin:
        return MemberRoute(member, found[0], found[1])
    assert ctx.session is not None
    params = {
        "protocolVersion": ctx.session.protocol_version,
        "capabilities": {},
        "clientInfo": JOIN_CLIENT_INFO,
    }
    session_id, version, _ = await initialize_member(ctx, client, member, params)
    return MemberRoute(member, session_id, version, transient=True)


async def release(ctx: RequestContext, client: UpstreamClient, route: MemberRoute) -> None:
    """End a session joined for one request (DELETE upstream); nothing for the others."""
    if not route.transient or not route.session_id:
        return
    try:
        response = await open_member(ctx, client, route, method="DELETE")
        response.release()
    except MemberFailed as exc:
        log.info("virtual server %s: member %s session not ended: %s", ctx.slug, route.member.server, exc)

"""Composition: answering on ``/{slug}/mcp`` for a virtual server (after the deciding stages).

Route found a virtual server and authorize let the caller in (it may use some member); this
module does what the upstream stage does for a plain server, for several members at once:

* ``initialize`` opens a session with every member concurrently and answers with merged
  capabilities; the client's sealed token carries every member session
  (``runtime/virtual/model.py``). ``server/discover`` (2026-07-28) is merged the same way.
* lists fan out, merge, rename and filter (``compose_lists``);
* ``tools/call``, ``prompts/get``, ``resources/read`` (and subscribe) go to the one member that
  owns the item, under its original name, after the same access decision a direct call gets
  (plus the member workspace's webhook); the member's answer streams back;
* a member's server-to-client requests reach the client with ids naming the member, so the
  client's answer goes back to it; the GET stream merges every member's GET stream, so
  ``list_changed`` notifications of any member reach the client; DELETE ends every member session.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from typing import Any

import aiohttp
import orjson

from data_plane.pipeline.context import Denial, DenialKind, Outcome, RequestContext
from data_plane.pipeline.sink import ResponseSink
from data_plane.runtime.authz_webhook import WebhookDecider
from data_plane.runtime.responses import error_code_of
from data_plane.runtime.sessions import SessionClaims, SessionSealer
from data_plane.runtime.upstream import UpstreamClient
from data_plane.runtime.virtual.model import Member, MemberSessions, VirtualServer, pack_sessions
from data_plane.runtime.virtual.sse import (
    SseSplitter,
    event_message,
    is_server_request,
    sse_event,
    tag_request_id,
    untag_response_id,
)
from data_plane.stages.authorize import webhook_question
from data_plane.stages.compose_lists import LISTS, find_original, merged_list, resource_owner, view_of
from data_plane.stages.compose_members import (
    SESSION_HEADER,
    MemberFailed,
    MemberRoute,
    ask_member,
    initialize_member,
    member_sessions,
    notify_member,
    open_member,
    release,
    route_to,
)
from shared.access import ItemKind
from shared.composition import exposed_name

log = logging.getLogger(__name__)

JSON = {"Content-Type": "application/json"}
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
_FORWARDED = ("Content-Type", "MCP-Protocol-Version", "Cache-Control")
_FAN_OUT = ("logging/setLevel",)
"""Requests every member gets; the virtual server answers with an empty result."""


def _routed(outcome: Outcome, ctx: RequestContext, member: Member, original: str) -> Outcome:
    tool = original if ctx.rpc_method == "tools/call" else ""
    return dataclasses.replace(outcome, member=member.server, member_tool=tool)


def _ok(status: int, code: int, rule: str) -> Outcome:
    return Outcome("error" if code else "ok", status, code, "", rule)


class Compose:
    """The virtual-server answerer the chain calls instead of forward + relay."""

    def __init__(
        self, *, client: UpstreamClient, sealer: SessionSealer, webhooks: WebhookDecider | None = None
    ) -> None:
        self._client = client
        self._sealer = sealer
        self._webhooks = webhooks

    async def __call__(self, ctx: RequestContext, sink: ResponseSink) -> Outcome:
        """Answer one request on the virtual server ``ctx.virtual``."""
        virtual = ctx.virtual
        assert virtual is not None
        if ctx.http_method == "GET":
            return await self._stream(ctx, sink, virtual)
        if ctx.http_method == "DELETE":
            return await self._end(ctx, sink, virtual)
        method = ctx.rpc_method
        if not method:
            return await self._client_answer(ctx, sink, virtual)
        if not ctx.is_request:
            await self._each_session(ctx, virtual, ctx.body, skip=("notifications/initialized",))
            await sink.send(202, {}, b"")
            return _ok(202, 0, ctx.rule)
        if method == "initialize":
            return await self._initialize(ctx, sink, virtual)
        if method == "server/discover":
            return await self._discover(ctx, sink, virtual)
        if method == "ping":
            return await self._reply(ctx, sink, {})
        if method in _FAN_OUT:
            await self._each_session(ctx, virtual, ctx.body)
            return await self._reply(ctx, sink, {})
        if method in LISTS:
            return await self._reply(ctx, sink, await merged_list(ctx, self._client, virtual))
        if method in ("tools/call", "prompts/get"):
            return await self._named(ctx, sink, virtual, "tool" if method == "tools/call" else "prompt")
        if method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
            return await self._resource(ctx, sink, virtual)
        if method == "completion/complete":
            return await self._complete(ctx, sink, virtual)
        return await self._error(ctx, sink, METHOD_NOT_FOUND, f"{method} is not offered by virtual servers")

    # --- answers -------------------------------------------------------------------------

    async def _reply(
        self,
        ctx: RequestContext,
        sink: ResponseSink,
        result: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> Outcome:
        if "Mcp-Method" in ctx.headers and ctx.session is None:
            # 2026-07-28 results state their type and caching; a merged list depends on the caller.
            result = {"resultType": "complete", "ttlMs": 0, "cacheScope": "private", **result}
        body = orjson.dumps({"jsonrpc": "2.0", "id": ctx.rpc_id, "result": result})
        await sink.send(200, {**JSON, **(headers or {})}, body)
        return _ok(200, 0, ctx.rule)

    async def _error(self, ctx: RequestContext, sink: ResponseSink, code: int, message: str) -> Outcome:
        error = {"code": code, "message": message}
        await sink.send(200, JSON, orjson.dumps({"jsonrpc": "2.0", "id": ctx.rpc_id, "error": error}))
        return Outcome("error", 200, code, message, ctx.rule)

    # --- sessions --------------------------------------------------------------------------

    async def _initialize(self, ctx: RequestContext, sink: ResponseSink, virtual: VirtualServer) -> Outcome:
        params: Any = ctx.message.get("params") if ctx.message is not None else None
        params = params if isinstance(params, dict) else {}

        async def join(member: Member) -> tuple[str, str, dict[str, Any]] | None:
            try:
                async with asyncio.timeout(member.upstream.timeout_seconds):
                    return await initialize_member(ctx, self._client, member, params)
            except (MemberFailed, aiohttp.ClientError, TimeoutError) as exc:
                log.warning(
                    "virtual server %s: member %s not joined: %s", ctx.slug, member.server, exc or "timeout"
                )
                return None

        joined = await asyncio.gather(*(join(m) for m in virtual.members))
        sessions: MemberSessions = {}
        results: list[dict[str, Any]] = []
        for member, found in zip(virtual.members, joined, strict=True):
            if found is not None:
                sessions[member.server] = (found[0], found[1])
                results.append(found[2])
        requested = params.get("protocolVersion")
        versions = sorted(v for _, v in sessions.values() if v)
        version = versions[0] if versions else requested if isinstance(requested, str) else ""
        result: dict[str, Any] = {
            "protocolVersion": version,
            "capabilities": _merged_capabilities(results),
            "serverInfo": {"name": virtual.name, "version": "mcpgw"},
        }
        if virtual.instructions:
            result["instructions"] = virtual.instructions
        principal = ctx.principal
        claims = SessionClaims(
            server=ctx.slug,
            upstream_session_id=pack_sessions(sessions),
            key_id=principal.key_id if principal is not None else "",
            protocol_version=version,
            issued_at=int(time.time()),
        )
        return await self._reply(ctx, sink, result, {SESSION_HEADER: self._sealer.seal(claims)})

    async def _discover(self, ctx: RequestContext, sink: ResponseSink, virtual: VirtualServer) -> Outcome:
        params: Any = ctx.message.get("params") if ctx.message is not None else None

        async def discover(member: Member) -> dict[str, Any] | None:
            try:
                async with asyncio.timeout(member.upstream.timeout_seconds):
                    route = MemberRoute(member, "", "")
                    return await ask_member(ctx, self._client, route, "server/discover", params or {})
            except (MemberFailed, aiohttp.ClientError, TimeoutError) as exc:
                log.warning(
                    "virtual server %s: member %s not discovered: %s",
                    ctx.slug,
                    member.server,
                    exc or "timeout",
                )
                return None

        found = [r for r in await asyncio.gather(*(discover(m) for m in virtual.members)) if r is not None]
        version_sets = [set(v) for r in found if isinstance(v := r.get("supportedVersions"), list)]
        supported = sorted(set.intersection(*version_sets)) if version_sets else []
        if not supported and (header := ctx.headers.get("MCP-Protocol-Version")):
            supported = [header]
        result: dict[str, Any] = {
            "supportedVersions": supported,
            "capabilities": _merged_capabilities(found),
            "resultType": "complete",
            "ttlMs": 0,
            "cacheScope": "private",
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": virtual.name, "version": "mcpgw"}},
        }
        if virtual.instructions:
            result["instructions"] = virtual.instructions
        return await self._reply(ctx, sink, result)

    async def _each_session(
        self, ctx: RequestContext, virtual: VirtualServer, body: bytes, skip: tuple[str, ...] = ()
    ) -> None:
        """Send a client message on to every member the client's session holds."""
        if ctx.rpc_method in skip:
            return  # members got theirs when the virtual server joined them
        sessions = member_sessions(ctx)
        routes = [
            MemberRoute(m, *sessions[m.server]) if sessions is not None else MemberRoute(m, "", "")
            for m in virtual.members
            if sessions is None or m.server in sessions
        ]
        await asyncio.gather(*(notify_member(ctx, self._client, r, body) for r in routes))

    async def _end(self, ctx: RequestContext, sink: ResponseSink, virtual: VirtualServer) -> Outcome:
        sessions = member_sessions(ctx) or {}

        async def end(member: Member) -> None:
            with contextlib.suppress(MemberFailed):
                route = MemberRoute(member, *sessions[member.server])
                (await open_member(ctx, self._client, route, method="DELETE")).release()

        await asyncio.gather(*(end(m) for m in virtual.members if m.server in sessions))
        await sink.send(200, {}, b"")
        return _ok(200, 0, ctx.rule)

    async def _client_answer(
        self, ctx: RequestContext, sink: ResponseSink, virtual: VirtualServer
    ) -> Outcome:
        """The client's answer to a member's request: back to that member, under its own id."""
        tagged = untag_response_id(ctx.rpc_id)
        member = virtual.by_server.get(tagged[0]) if tagged is not None else None
        if tagged is None or member is None or ctx.message is None:
            return await sink.deny(
                ctx, Denial(DenialKind.INVALID_REQUEST, "answer to no request of this server")
            )
        route = await route_to(ctx, self._client, member)
        await notify_member(ctx, self._client, route, orjson.dumps({**ctx.message, "id": tagged[1]}))
        await sink.send(202, {}, b"")
        return _ok(202, 0, ctx.rule)

    # --- routed requests -------------------------------------------------------------------

    async def _named(
        self, ctx: RequestContext, sink: ResponseSink, virtual: VirtualServer, kind: ItemKind
    ) -> Outcome:
        found = await self._member_item(ctx, virtual, kind)
        if found is None:
            return await self._error(ctx, sink, INVALID_PARAMS, f"unknown {kind} '{ctx.item}'")
        member, original = found
        return await self._forward(ctx, sink, member, kind, original, {"name": original})

    async def _member_item(
        self, ctx: RequestContext, virtual: VirtualServer, kind: ItemKind
    ) -> tuple[Member, str] | None:
        """The member and original name of the tool or prompt exposed as ``ctx.item``."""
        found = virtual.resolve(kind, ctx.item)
        if found is None:
            return None
        member, original = found
        if original is None:
            original = await find_original(ctx, self._client, member, kind, ctx.item)
        shown = None
        if original is not None:
            shown = member.tool_name(original) if kind == "tool" else exposed_name(member.prefix, original)
        if original is None or shown != ctx.item or (kind == "tool" and not member.shows_tool(original)):
            return None
        return member, original

    async def _complete(self, ctx: RequestContext, sink: ResponseSink, virtual: VirtualServer) -> Outcome:
        """``completion/complete``: to the member owning the referenced prompt (under its own
        name) or resource template, checked as the same completion sent directly would be."""
        assert ctx.message is not None
        params = ctx.message.get("params")
        ref = params.get("ref") if isinstance(params, dict) else None
        kind = ctx.item_kind
        if not isinstance(ref, dict) or kind not in ("prompt", "resource"):
            return await self._error(
                ctx, sink, INVALID_PARAMS, "completion needs a prompt or resource template ref"
            )
        if kind == "prompt":
            found = await self._member_item(ctx, virtual, "prompt")
            if found is None:
                return await self._error(ctx, sink, INVALID_PARAMS, f"unknown prompt '{ctx.item}'")
            member, original = found
            return await self._forward(ctx, sink, member, kind, original, {"ref": {**ref, "name": original}})
        owner = await resource_owner(ctx, self._client, virtual, ctx.item)
        if owner is None:
            return await self._error(ctx, sink, INVALID_PARAMS, f"unknown resource template '{ctx.item}'")
        return await self._forward(ctx, sink, owner, kind, ctx.item, {})

    async def _resource(self, ctx: RequestContext, sink: ResponseSink, virtual: VirtualServer) -> Outcome:
        member = await resource_owner(ctx, self._client, virtual, ctx.item)
        if member is None:
            return await self._error(ctx, sink, INVALID_PARAMS, f"unknown resource '{ctx.item}'")
        return await self._forward(ctx, sink, member, "resource", ctx.item, {})

    async def _forward(
        self,
        ctx: RequestContext,
        sink: ResponseSink,
        member: Member,
        kind: ItemKind,
        original: str,
        params_update: dict[str, Any],
    ) -> Outcome:
        """Send the request to ``member`` under the item's ``original`` name, if the caller may;
        the outcome names the member and original tool, which audit records."""
        decision = view_of(ctx, member).decide(kind, original)
        if decision.allowed:
            refusal = await self._webhook(ctx, member, kind, original, decision.rule)
        else:
            refusal = Denial(DenialKind.TOOL_FORBIDDEN, decision.reason, decision.rule)
        if refusal is not None:
            return _routed(await sink.deny(ctx, refusal), ctx, member, original)
        assert ctx.message is not None
        params = ctx.message.get("params")
        body = orjson.dumps(
            {**ctx.message, "params": {**(params if isinstance(params, dict) else {}), **params_update}}
        )
        headers = {"Mcp-Name": original} if "Mcp-Name" in ctx.headers else {}
        outcome = await self._exchange(ctx, sink, member, body, headers, decision.rule, original)
        return _routed(outcome, ctx, member, original)

    async def _exchange(
        self,
        ctx: RequestContext,
        sink: ResponseSink,
        member: Member,
        body: bytes,
        headers: dict[str, str],
        rule: str,
        original: str,
    ) -> Outcome:
        """POST ``body`` on the caller's session with ``member`` (joining again once if the
        member lost it) and relay the answer."""
        for rejoin in (False, True):
            try:
                route = await route_to(ctx, self._client, member, rejoin=rejoin)
            except MemberFailed as exc:
                return await sink.deny(ctx, _unreachable(member, exc))
            try:
                response = await open_member(ctx, self._client, route, body=body, headers=headers)
                if response.status == 404 and route.session_id and not rejoin:
                    response.release()  # the member restarted and lost the session: join again
                    continue
                return await self._relay(ctx, sink, member, response, rule, original)
            except MemberFailed as exc:
                return await sink.deny(ctx, _unreachable(member, exc))
            finally:
                await release(ctx, self._client, route)
        raise AssertionError("the second pass always returns")

    async def _webhook(
        self, ctx: RequestContext, member: Member, kind: ItemKind, original: str, rule: str
    ) -> Denial | None:
        """The member workspace's authorization webhook, asked like for a direct call."""
        snapshot, principal = ctx.snapshot, ctx.principal
        hook = snapshot.webhooks.get(member.upstream.workspace) if snapshot is not None else None
        if hook is None or self._webhooks is None or principal is None or ctx.message is None:
            return None
        question = webhook_question(ctx, principal, member.server, kind, original, rule)
        key = self._webhooks.key(hook, question)
        verdict = self._webhooks.answer(key)
        if verdict is None:
            assert snapshot is not None
            await self._webhooks.ask(hook, key, {**question, "snapshot_version": snapshot.version})()
            verdict = self._webhooks.answer(key)
        if verdict is None:
            return Denial(
                DenialKind.TOOL_FORBIDDEN, f"{kind} '{original}': the webhook did not decide", hook.rule
            )
        if not verdict.allowed:
            return Denial(DenialKind.TOOL_FORBIDDEN, f"{kind} '{original}': {verdict.reason}", verdict.rule)
        return None

    async def _relay(
        self,
        ctx: RequestContext,
        sink: ResponseSink,
        member: Member,
        response: aiohttp.ClientResponse,
        rule: str,
        original: str,
    ) -> Outcome:
        """Stream a member's answer to the client; its server-to-client requests are re-tagged."""
        status = response.status
        headers = {n: v for n in _FORWARDED if (v := response.headers.get(n)) is not None}
        try:
            if not response.headers.get("Content-Type", "").startswith("text/event-stream"):
                body = await response.read()
                await sink.send(status, headers, body)
                code = error_code_of(body)
                return Outcome(
                    "upstream_error" if status >= 500 else "error" if status >= 400 or code else "ok",
                    status,
                    code,
                    "",
                    rule,
                )
            await sink.start(status, headers, None)
            code = 0
            splitter = SseSplitter()
            async for chunk in response.content.iter_any():
                for event in splitter.feed(chunk):
                    message = event_message(event)
                    if is_server_request(message):
                        await sink.write(sse_event(tag_request_id(member.server, message)))
                        continue
                    await sink.write(event + b"\n\n")
                    if (
                        isinstance(message, dict)
                        and message.get("id") == ctx.rpc_id
                        and "method" not in message
                    ):
                        error = message.get("error")
                        code = error.get("code", -1) if isinstance(error, dict) else 0
                        settled = _ok(status, code if type(code) is int else -1, rule)
                        sink.settle(_routed(settled, ctx, member, original))
            await sink.end()
            return _ok(status, code if type(code) is int else -1, rule)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Outcome("upstream_error", status, 0, f"upstream stream broke: {type(exc).__name__}", rule)
        finally:
            response.release()

    # --- the GET stream --------------------------------------------------------------------

    async def _stream(self, ctx: RequestContext, sink: ResponseSink, virtual: VirtualServer) -> Outcome:
        """Every member's GET stream, merged into one (list changes, requests, logs)."""
        sessions = member_sessions(ctx)
        members = [m for m in virtual.members if sessions and m.server in sessions]
        if sessions is None or not members:
            await sink.send(405, {"Allow": "POST, DELETE"}, b"")
            return _ok(405, 0, ctx.rule)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def pipe(member: Member) -> None:
            try:
                route = MemberRoute(member, *sessions[member.server])
                response = await open_member(
                    ctx, self._client, route, method="GET", headers={"Accept": "text/event-stream"}
                )
                async with response:
                    if response.status != 200:
                        return
                    splitter = SseSplitter()
                    async for chunk in response.content.iter_any():
                        for event in splitter.feed(chunk):
                            message = event_message(event)
                            if message is None:
                                continue  # comments and priming events carry nothing to relay
                            if is_server_request(message):
                                message = tag_request_id(member.server, message)
                            await queue.put(sse_event(message))
            except (MemberFailed, aiohttp.ClientError, TimeoutError) as exc:
                log.info("virtual server %s: member %s stream ended: %s", ctx.slug, member.server, exc)
            finally:
                await queue.put(None)

        tasks = [asyncio.create_task(pipe(m)) for m in members]
        try:
            await sink.start(200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, None)
            sink.settle(_ok(200, 0, ctx.rule))
            open_streams = len(tasks)
            while open_streams:
                event = await queue.get()
                if event is None:
                    open_streams -= 1
                    continue
                await sink.write(event)
            await sink.end()
        except ConnectionResetError:
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return _ok(200, 0, ctx.rule)


def _unreachable(member: Member, exc: Exception) -> Denial:
    return Denial(DenialKind.UPSTREAM_UNREACHABLE, f"server '{member.server}' is unreachable: {exc}")


def _merged_capabilities(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Tools, prompts and resources always (members may come back), with ``listChanged``; the
    rest when some member has it."""
    caps: dict[str, Any] = {
        "tools": {"listChanged": True},
        "prompts": {"listChanged": True},
        "resources": {"listChanged": True},
    }
    for result in results:
        found = result.get("capabilities")
        if not isinstance(found, dict):
            continue
        resources = found.get("resources")
        if isinstance(resources, dict) and resources.get("subscribe") is True:
            caps["resources"]["subscribe"] = True
        for name in ("logging", "completions"):
            if name in found:
                caps[name] = {}
    return caps

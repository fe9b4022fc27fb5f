"""A virtual server's lists: asked of every member at once, merged, renamed, filtered by access.

A member that cannot answer (unreachable, timing out, failing) is logged and left out, so the
list still answers with the others; it is back in the next list once it answers again. Every
item is shown only when the member's subset holds it and the caller may use it on the member
server under its original name (the same ``shared.access`` decision a direct call gets).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp

from data_plane.pipeline.context import RequestContext
from data_plane.runtime.upstream import UpstreamClient
from data_plane.runtime.virtual.model import Member, VirtualServer
from data_plane.stages.authorize import caller_of
from data_plane.stages.compose_members import MemberFailed, SessionGone, ask_member, release, route_to
from shared.access import ItemKind, ServerView
from shared.composition import exposed_name

log = logging.getLogger(__name__)

LISTS: dict[str, tuple[str, str, ItemKind]] = {
    "tools/list": ("tools", "name", "tool"),
    "prompts/list": ("prompts", "name", "prompt"),
    "resources/list": ("resources", "uri", "resource"),
    "resources/templates/list": ("resourceTemplates", "uriTemplate", "resource"),
}
"""List method -> (result key, field naming the entry, item kind)."""
MAX_PAGES = 50
"""Pages of one member's list read at most (the virtual list itself has one page)."""


def view_of(ctx: RequestContext, member: Member) -> ServerView:
    """What the caller may use on the member server (its own grants, original names)."""
    assert ctx.snapshot is not None
    assert ctx.principal is not None
    return ctx.snapshot.access.view(caller_of(ctx.principal, ctx.snapshot), member.server)


async def member_list(
    ctx: RequestContext, client: UpstreamClient, member: Member, method: str
) -> list[dict[str, Any]] | None:
    """Every entry of one member's list (all pages); ``None`` when the member cannot answer."""
    try:
        async with asyncio.timeout(member.upstream.timeout_seconds):
            try:
                return await _pages(ctx, client, member, method, rejoin=False)
            except SessionGone:
                # The member restarted since the session began: join it again for this request.
                return await _pages(ctx, client, member, method, rejoin=True)
    except (MemberFailed, aiohttp.ClientError, TimeoutError) as exc:
        log.warning(
            "virtual server %s: member %s left out of %s: %s",
            ctx.slug,
            member.server,
            method,
            exc or "timeout",
        )
        return None


async def _pages(
    ctx: RequestContext, client: UpstreamClient, member: Member, method: str, *, rejoin: bool
) -> list[dict[str, Any]]:
    key = LISTS[method][0]
    route = await route_to(ctx, client, member, rejoin=rejoin)
    try:
        entries: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            result = await ask_member(ctx, client, route, method, {"cursor": cursor} if cursor else {})
            page = result.get(key)
            if isinstance(page, list):
                entries.extend(e for e in page if isinstance(e, dict))
            next_cursor = result.get("nextCursor")
            if not isinstance(next_cursor, str) or not next_cursor:
                break
            cursor = next_cursor
        return entries
    finally:
        await release(ctx, client, route)


def _shown(member: Member, kind: ItemKind, entry: dict[str, Any], field: str) -> dict[str, Any] | None:
    """The entry as the virtual server shows it (renamed, re-described), ``None`` if hidden."""
    original = entry.get(field)
    if not isinstance(original, str):
        return None
    if kind == "tool":
        if not member.shows_tool(original):
            return None
        shown = {**entry, "name": member.tool_name(original)}
        description = member.descriptions.get(original)
        if description is not None:
            shown["description"] = description
        return shown
    if kind == "prompt":
        return {**entry, "name": exposed_name(member.prefix, original)}
    return entry


async def merged_list(ctx: RequestContext, client: UpstreamClient, virtual: VirtualServer) -> dict[str, Any]:
    """The result of a list request on the virtual server."""
    key, field, kind = LISTS[ctx.rpc_method]
    answers = await asyncio.gather(*(member_list(ctx, client, m, ctx.rpc_method) for m in virtual.members))
    merged: list[dict[str, Any]] = []
    seen: set[str] = set()
    for member, entries in zip(virtual.members, answers, strict=True):
        if entries is None:
            continue
        view = view_of(ctx, member)
        for entry in entries:
            shown = _shown(member, kind, entry, field)
            if shown is None or not view.visible(kind, str(entry[field])):
                continue
            name = str(shown[field])
            if name in seen:
                log.warning(
                    "virtual server %s: duplicate %s %r from %s left out", ctx.slug, kind, name, member.server
                )
                continue
            seen.add(name)
            merged.append(shown)
    return {key: merged}


async def find_original(
    ctx: RequestContext, client: UpstreamClient, member: Member, kind: ItemKind, exposed: str
) -> str | None:
    """The original name behind a shortened exposed name (read from the member's list)."""
    method = "tools/list" if kind == "tool" else "prompts/list"
    entries = await member_list(ctx, client, member, method) or []
    for entry in entries:
        original = entry.get("name")
        if not isinstance(original, str):
            continue
        shown = member.tool_name(original) if kind == "tool" else exposed_name(member.prefix, original)
        if shown == exposed:
            return original
    return None


def _template_pattern(template: str) -> re.Pattern[str]:
    """A URI template (RFC 6570) as a pattern: ``{var}`` one path segment, ``{+var}`` anything."""
    parts: list[str] = []
    for literal, expression in re.findall(r"([^{]*)(\{[^}]*\})?", template):
        parts.append(re.escape(literal))
        if expression:
            parts.append(".*" if expression[1:2] in ("+", "#") else "[^/]*")
    return re.compile("".join(parts))


async def resource_owner(
    ctx: RequestContext, client: UpstreamClient, virtual: VirtualServer, uri: str
) -> Member | None:
    """The first member (in order) listing ``uri`` as a resource, else whose template is it (a
    completion's reference) or matches it."""
    members = virtual.members
    listed, templates = await asyncio.gather(
        asyncio.gather(*(member_list(ctx, client, m, "resources/list") for m in members)),
        asyncio.gather(*(member_list(ctx, client, m, "resources/templates/list") for m in members)),
    )
    for member, entries in zip(members, listed, strict=True):
        if entries and any(e.get("uri") == uri for e in entries):
            return member
    for member, entries in zip(members, templates, strict=True):
        for entry in entries or ():
            template = entry.get("uriTemplate")
            if isinstance(template, str) and (template == uri or _template_pattern(template).fullmatch(uri)):
                return member
    return None

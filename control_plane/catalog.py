"""Refresh a registered server's tool catalog: read its connection, discover, store the outcome.

The upstream call happens between two short transactions, so no database transaction is held
open while a slow upstream answers. These functions are synchronous and must run in a worker
thread of an AnyIO event loop (as FastAPI runs sync routes); the discovery itself runs on the
loop through ``anyio.from_thread``.
"""

from __future__ import annotations

from collections.abc import Sequence

from anyio import from_thread

from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.discovery import DiscoveredTool, DiscoveryFailed, discover_stdio_tools, discover_tools
from control_plane.models import Tool
from control_plane.repos import servers


def discover_now(target: servers.Connection, *, timeout: float) -> list[DiscoveredTool]:
    """Discover the tools of ``target`` from a worker thread; raises :class:`DiscoveryFailed`.

    A stdio server is launched here for the time of the discovery.
    """

    async def run() -> list[DiscoveredTool]:
        if target.stdio is not None:
            return await discover_stdio_tools(target=target.stdio, timeout=timeout)
        return await discover_tools(
            url=target.url, headers=target.headers, timeout=timeout, legacy_sse=target.legacy_sse
        )

    return from_thread.run(run)


def refresh(db: Database, *, slug: str, secrets: SecretBox, timeout: float) -> list[Tool]:
    """Discover the tools of server ``slug`` and store them; returns the stored catalog.

    On failure the reason is stored on the server (its catalog is kept) and
    :class:`DiscoveryFailed` is raised.
    """
    with db.transaction() as session:
        target = servers.connection(session, slug=slug, secrets=secrets)
    try:
        catalog = discover_now(target, timeout=timeout)
    except DiscoveryFailed as exc:
        with db.transaction() as session:
            servers.record_discovery_error(session, slug=slug, reason=str(exc))
        raise
    with db.transaction() as session:
        server = servers.get(session, slug=slug)
        servers.replace_catalog(session, server=server, catalog=catalog)
        return servers.list_tools(session, server=server)


def refresh_quietly(
    db: Database, *, slugs: Sequence[str], secrets: SecretBox, timeout: float
) -> dict[str, str]:
    """Refresh several servers; failures are stored, not raised. Returns slug -> failure reason."""
    failures: dict[str, str] = {}
    for slug in slugs:
        try:
            refresh(db, slug=slug, secrets=secrets, timeout=timeout)
        except DiscoveryFailed as exc:
            failures[slug] = str(exc)
    return failures

"""RFC 9728 protected-resource metadata: ``/.well-known/oauth-protected-resource/{slug}/mcp``.

The document names the exact endpoint URL as ``resource`` and, as ``authorization_servers``,
the issuers of the identity providers whose principals may use that server, so an MCP client
that got a 401 knows where to obtain a token. An unknown server is 404.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from data_plane import keys
from data_plane.stages.authenticate import resource_url

ROUTE = "/.well-known/oauth-protected-resource/{slug:[A-Za-z0-9][A-Za-z0-9_.-]*}/mcp"


async def protected_resource_metadata(request: web.Request) -> web.Response:
    """The metadata of ``/{slug}/mcp`` from the snapshot held right now."""
    snapshot = request.app[keys.STORE].current
    slug = request.match_info["slug"]
    if snapshot is None:
        return web.json_response({"error": "the data plane holds no verified snapshot yet"}, status=503)
    if slug not in snapshot.servers:
        return web.json_response({"error": f"no server '{slug}' on this gateway"}, status=404)
    providers = snapshot.identity.by_server.get(slug, ())
    document: dict[str, Any] = {
        "resource": resource_url(request.app[keys.PUBLIC_BASE_URL], slug),
        "bearer_methods_supported": ["header"],
    }
    if providers:
        document["authorization_servers"] = [p.issuer for p in providers]
    scopes = sorted({scope for p in providers for scope in p.required_scopes})
    if scopes:
        document["scopes_supported"] = scopes
    return web.json_response(document, headers={"Cache-Control": "max-age=60"})


def add_routes(app: web.Application) -> None:
    """Register the metadata endpoint."""
    app.router.add_get(ROUTE, protected_resource_metadata)

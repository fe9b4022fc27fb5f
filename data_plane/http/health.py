"""Health endpoints of the admin port: ``/healthz`` (alive) and ``/readyz`` (serving)."""

from __future__ import annotations

from aiohttp import web

from data_plane import keys


async def healthz(request: web.Request) -> web.Response:
    """Always 200 while the process runs."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 only when a verified snapshot is held; says where it came from."""
    app = request.app
    store = app[keys.STORE]
    status = app[keys.SYNC_STATUS]
    ready = store.current is not None
    body = {
        "ready": ready,
        "snapshot_version": store.version,
        "snapshot_hash": store.hash,
        "source": store.source,
        "control_plane_connected": status.connected,
        "control_plane_error": status.last_error,
        "audit_dropped": app[keys.AUDIT_BUFFER].dropped,
    }
    return web.json_response(body, status=200 if ready else 503)


def add_routes(app: web.Application) -> None:
    """Register the health endpoints."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)

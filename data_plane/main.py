"""``run(settings)``: serve the MCP app and the admin app until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from data_plane.app import create_admin_app, create_app
from data_plane.settings import DataPlaneSettings

_run: Callable[[Coroutine[Any, Any, None]], None]
try:
    import uvloop

    _run = uvloop.run
except ImportError:  # optional accelerator (not on Windows)
    _run = asyncio.run

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0


async def serve(settings: DataPlaneSettings, stop: asyncio.Event | None = None) -> None:
    """Run both listeners until ``stop`` is set (or a termination signal arrives)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    app = create_app(settings)
    # A client that goes away cancels its handler, which closes the upstream connection too:
    # the upstream then sees the disconnect as it would without the gateway (a GET stream is
    # freed for the client's reconnect with Last-Event-ID instead of answering 409).
    runner = web.AppRunner(
        app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS, handler_cancellation=True
    )
    admin_runner = web.AppRunner(create_admin_app(app), access_log=None)
    await runner.setup()
    await admin_runner.setup()
    try:
        await web.TCPSite(runner, settings.listen_host, settings.listen_port, backlog=1024).start()
        await web.TCPSite(admin_runner, settings.admin_host, settings.admin_port).start()
        logger.info(
            "data plane listening: MCP on http://%s:%d/{slug}/mcp, health on http://%s:%d/readyz",
            settings.listen_host,
            settings.listen_port,
            settings.admin_host,
            settings.admin_port,
        )
        await stop.wait()
        logger.info("data plane stopping")
    finally:
        await admin_runner.cleanup()
        await runner.cleanup()


def run(settings: DataPlaneSettings) -> None:
    """Blocking entry point (``mcpgw data-plane``); uses uvloop when it is installed."""
    _run(serve(settings))

"""Serve an aiohttp app on uvloop until SIGTERM or SIGINT (the bench's own small servers)."""

from __future__ import annotations

import asyncio
import signal

import uvloop
from aiohttp import web


async def _serve(app: web.Application, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=1024).start()
        await stop.wait()
    finally:
        await runner.cleanup()


def serve_forever(app: web.Application, host: str, port: int) -> None:
    """Block serving ``app`` on ``host:port``."""
    uvloop.run(_serve(app, host, port))

"""``run(settings)``: serve the MCP app and the admin app until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import signal
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from aiohttp import web

from data_plane.app import create_admin_app, create_app
from data_plane.runtime.memory import fix_mmap_threshold
from data_plane.settings import DataPlaneSettings
from data_plane.snapshot.files import load_or_create_node_id

_run: Callable[[Coroutine[Any, Any, None]], None]
try:
    import uvloop

    _run = uvloop.run
except ImportError:  # optional accelerator (not on Windows)
    _run = asyncio.run

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0
GC_GEN0_THRESHOLD = 10_000


async def serve(settings: DataPlaneSettings, stop: asyncio.Event | None = None) -> None:
    """Run both listeners until ``stop`` is set (or a termination signal arrives)."""
    stop = stop or asyncio.Event()
    fix_mmap_threshold()
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
        # Several workers share the ports; the kernel spreads connections across them.
        shared = settings.workers > 1
        await web.TCPSite(
            runner, settings.listen_host, settings.listen_port, backlog=1024, reuse_port=shared
        ).start()
        await web.TCPSite(admin_runner, settings.admin_host, settings.admin_port, reuse_port=shared).start()
        logger.info(
            "data plane worker %d/%d listening: MCP on http://%s:%d/{slug}/mcp, health on http://%s:%d/readyz",
            settings.worker_index + 1,
            settings.workers,
            settings.listen_host,
            settings.listen_port,
            settings.admin_host,
            settings.admin_port,
        )
        _tune_gc()
        await stop.wait()
        logger.info("data plane stopping")
    finally:
        await admin_runner.cleanup()
        await runner.cleanup()


def _tune_gc() -> None:
    """Keep the cyclic collector off the request path's back.

    What exists once the worker listens (modules, app, routes) lives as long as the process:
    ``gc.freeze`` moves it out of every later collection. A request allocates dozens of
    short-lived containers; with the default gen-0 threshold of 700 the collector would run
    every few requests, so it runs every ``GC_GEN0_THRESHOLD`` allocations instead.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def run(settings: DataPlaneSettings) -> None:
    """Blocking entry point (``mcpgw data-plane``); uses uvloop when it is installed.

    With ``workers > 1`` this process is worker 0 and starts the others as child processes
    (spawned, so none inherits this one's event loop); they stop with it.
    """
    load_or_create_node_id(settings.node_id_file)  # before any worker starts: one id for all
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_worker, args=(replace(settings, worker_index=i),), name=f"data-plane-w{i}")
        for i in range(1, settings.workers)
    ]
    for child in children:
        child.start()
    try:
        _run(serve(settings))
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.join(SHUTDOWN_GRACE_SECONDS)
            if child.is_alive():
                child.kill()
                child.join()


def _worker(settings: DataPlaneSettings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _run(serve(settings))

"""``mcpgw dev``: the embedded gateway on one machine, with nothing else installed.

Starts, in this order: the demo MCP server (a child process), the control plane in this
process (SQLite in the state directory, admin API on :8000, gRPC on :50051), the seed config
(the demo registration and ``--seed``), and one data plane as a child process that receives
its config over gRPC on loopback. Then it prints where everything listens and a
ready-to-paste MCP client config. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from control_plane.app import create_app
from control_plane.settings import ControlPlaneSettings
from mcpgw.apply import ApplyError, apply_document, format_result, load_document

logger = logging.getLogger("mcpgw.dev")

DEMO_KEY_NAME = "dev"


def _secret_file(path: Path, make: str) -> str:
    """Read a development secret from ``path``, creating it (mode 0600) when missing."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(make)
    return make


def demo_document(demo_url: str, demo_key: str) -> dict[str, Any]:
    """The config ``mcpgw dev`` registers for its demo server."""
    return {
        "workspaces": [{"slug": "demo", "name": "Demo"}],
        "servers": [{"slug": "demo", "workspace": "demo", "url": demo_url}],
        "keys": [{"name": DEMO_KEY_NAME, "workspace": "demo", "secret": demo_key, "servers": ["demo"]}],
    }


def client_config(slug: str, key: str, base: str) -> dict[str, Any]:
    """A ready-to-paste ``mcpServers`` entry for an MCP client."""
    return {
        "mcpServers": {slug: {"url": f"{base}/{slug}/mcp", "headers": {"Authorization": f"Bearer {key}"}}}
    }


async def _wait_http(
    url: str,
    *,
    seconds: float,
    what: str,
    proc: asyncio.subprocess.Process | None = None,
    any_status: bool = False,
) -> None:
    """Poll ``url`` until it answers 200 (or anything, with ``any_status``) within ``seconds``."""
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            async with asyncio.timeout(seconds):
                while True:
                    if proc is not None and proc.returncode is not None:
                        raise RuntimeError(f"{what} exited with status {proc.returncode}")
                    with contextlib.suppress(httpx.HTTPError):
                        status = (await client.get(url)).status_code
                        if status == 200 or any_status:
                            return
                    await asyncio.sleep(0.1)
        except TimeoutError as exc:
            raise RuntimeError(f"{what} did not become ready at {url} within {seconds:.0f}s") from exc


@contextlib.asynccontextmanager
async def _child(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(sys.executable, *args, env=env)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(10):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _serve(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    admin_token = os.environ.get("MCPGW_ADMIN_TOKEN") or ""
    token_file = state_dir / "admin-token"
    fresh_token = not admin_token and not token_file.exists()
    admin_token = admin_token or _secret_file(token_file, "mcpgw_admin_" + secrets.token_urlsafe(24))
    settings = ControlPlaneSettings(state_dir=state_dir, admin_token=admin_token)
    config = uvicorn.Config(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_level="warning"
    )
    server = _EmbeddedServer(config)
    cp_url = f"http://{settings.http_host}:{settings.http_port}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        demo_key = ""
        demo = ""
        if not args.no_demo:
            await stack.enter_async_context(_child("-m", "mcpgw.demo_server", "--port", str(args.demo_port)))
            demo = f"http://127.0.0.1:{args.demo_port}/mcp"
            await _wait_http(demo, seconds=30, what="demo MCP server", any_status=True)
        cp_task = asyncio.create_task(server.serve(), name="control-plane")
        stack.push_async_callback(_stop_control_plane, server, cp_task)
        await _wait_http(f"{cp_url}/healthz", seconds=30, what="control plane")

        if not args.no_demo:
            demo_key = _secret_file(state_dir / "demo-key", "mcpgw_dev_" + secrets.token_urlsafe(24))
            await _apply(cp_url, admin_token, demo_document(demo, demo_key))
        if args.seed:
            try:
                result = await _apply(cp_url, admin_token, load_document(args.seed))
                sys.stdout.write(format_result(result) + "\n")
            except ApplyError as exc:
                logger.error("seed %s refused: %s", args.seed, exc)
                return 1

        dp_listen = os.environ.get("MCPGW_DP_LISTEN", "127.0.0.1:8080")
        dp_admin = os.environ.get("MCPGW_DP_ADMIN_LISTEN", "127.0.0.1:8081")
        dp_env = {
            **os.environ,
            "MCPGW_DP_LISTEN": dp_listen,
            "MCPGW_DP_ADMIN_LISTEN": dp_admin,
            "MCPGW_DP_CONTROL_PLANE": f"{settings.grpc_host}:{settings.grpc_port}",
            "MCPGW_DP_GROUP": "default",
            "MCPGW_DP_VERIFY_KEY": str(state_dir / "signing-key.pub.jwk"),
            "MCPGW_DP_GROUP_KEY": str(state_dir / "groups" / "default.jwk"),
            "MCPGW_DP_STATE_DIR": str(state_dir / "data-plane"),
            # The embedded gateway runs the stdio servers its own admin registers.
            "MCPGW_DP_ALLOW_STDIO": os.environ.get("MCPGW_DP_ALLOW_STDIO", "true"),
        }
        dp = await stack.enter_async_context(_child("-m", "mcpgw.cli", "data-plane", env=dp_env))
        await _wait_http(f"http://{dp_admin}/readyz", seconds=30, what="data plane", proc=dp)
        _print_banner(settings, cp_url, admin_token, fresh_token, demo_key, dp_listen, dp_admin)
        waiters = {asyncio.create_task(stop.wait()), cp_task, asyncio.create_task(dp.wait())}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters - {cp_task}:
            waiter.cancel()
    return 0


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: ``mcpgw dev`` stops every part itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _stop_control_plane(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    try:
        async with asyncio.timeout(15):
            await task
    except TimeoutError:
        task.cancel()


async def _apply(cp_url: str, token: str, document: dict[str, Any]) -> dict[str, Any]:
    return await asyncio.to_thread(apply_document, cp_url, token, document)


def _print_banner(
    settings: ControlPlaneSettings,
    cp_url: str,
    token: str,
    fresh: bool,
    demo_key: str,
    dp_listen: str,
    dp_admin: str,
) -> None:
    lines = [
        "",
        "MCP Gateway (embedded) is running:",
        f"  control plane admin API  {cp_url}/api/v1   (OpenAPI: {cp_url}/docs)",
        f"  control plane gRPC       {settings.grpc_host}:{settings.grpc_port}",
        f"  data plane MCP           http://{dp_listen}/{{server-slug}}/mcp",
        f"  data plane health        http://{dp_admin}/readyz",
        f"  state directory          {settings.state_dir}",
    ]
    if fresh:
        lines.append(f"  admin token (shown once, also saved in {settings.state_dir}/admin-token): {token}")
    else:
        lines.append(f"  admin token              in {settings.state_dir}/admin-token (or MCPGW_ADMIN_TOKEN)")
    if demo_key:
        lines += ["", "Paste this into your MCP client config to reach the demo server:", ""]
        lines.append(json.dumps(client_config("demo", demo_key, f"http://{dp_listen}"), indent=2))
    lines += ["", "Press Ctrl-C to stop.", ""]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def run_dev(args: argparse.Namespace) -> int:
    """The ``dev`` subcommand."""
    try:
        return asyncio.run(_serve(args))
    except RuntimeError as exc:
        logger.error("%s", exc)
        return 1

"""The deployment under test, as real processes: upstreams, control plane, data planes.

Everything is registered through the admin API as a user would: a workspace, the fast
upstream (with an injected credential header, so unsealing is on the path) and the
official-SDK upstream, a tool-scoped key and a whole-server key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.procs import Child, Stack, free_port, http_ok

ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
UPSTREAM_SECRET = "bench-upstream-secret"
ACCEPT = "application/json, text/event-stream"
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}


@dataclass
class ControlPlane:
    """A running control plane and its admin API."""

    child: Child
    state: Path
    http_port: int
    grpc_port: int

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the admin API; raises ``RuntimeError`` on an error status."""
        response = httpx.request(
            method,
            f"http://127.0.0.1:{self.http_port}/api/v1{path}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json=body,
            timeout=60,
        )
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None


@dataclass
class DataPlane:
    """A running data plane."""

    child: Child
    port: int
    admin_port: int

    def url(self, slug: str) -> str:
        """The MCP endpoint of server ``slug``."""
        return f"http://127.0.0.1:{self.port}/{slug}/mcp"


@dataclass
class Keys:
    """The secrets and ids of the keys the bench uses."""

    narrow: str
    wide: str
    ids: dict[str, str] = field(default_factory=dict)


def start_control_plane(
    stack: Stack, tmp: Path, database_url: str, name: str = "control-plane"
) -> ControlPlane:
    """Start ``mcpgw control-plane`` and wait until healthy."""
    state = tmp / name
    http_port, grpc_port = free_port(), free_port()
    env = {
        "MCPGW_STATE_DIR": str(state),
        "MCPGW_DATABASE_URL": database_url,
        "MCPGW_CP_HTTP_PORT": str(http_port),
        "MCPGW_CP_GRPC_PORT": str(grpc_port),
        "MCPGW_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    child = stack.add(Child.python(name, ["-m", "mcpgw.cli", "control-plane"], stack.log_dir, env))
    child.wait_until(http_ok(f"http://127.0.0.1:{http_port}/healthz"), seconds=60, what="healthy")
    return ControlPlane(child, state, http_port, grpc_port)


def start_data_plane(
    stack: Stack,
    tmp: Path,
    name: str,
    *,
    control_plane: ControlPlane | None = None,
    snapshot: tuple[Path, Path, Path] | None = None,
    ready_seconds: float = 60,
    workers: int = 1,
) -> DataPlane:
    """Start a data plane dialling ``control_plane``, or booting from ``snapshot`` files.

    ``snapshot`` is (signed snapshot, verify key, group key); that data plane runs with the
    JWS size cap lifted (see :mod:`bench.jws_limit`). ``workers`` processes share its ports.
    """
    port, admin_port = free_port(), free_port()
    env = {
        "MCPGW_DP_LISTEN": f"127.0.0.1:{port}",
        "MCPGW_DP_ADMIN_LISTEN": f"127.0.0.1:{admin_port}",
        "MCPGW_DP_GROUP": "default",
        "MCPGW_DP_STATE_DIR": str(tmp / name),
        "MCPGW_DP_WORKERS": str(workers),
    }
    module = "mcpgw.cli"
    if control_plane is not None:
        env["MCPGW_DP_CONTROL_PLANE"] = f"127.0.0.1:{control_plane.grpc_port}"
        env["MCPGW_DP_VERIFY_KEY"] = str(control_plane.state / "signing-key.pub.jwk")
        env["MCPGW_DP_GROUP_KEY"] = str(control_plane.state / "groups" / "default.jwk")
    elif snapshot is not None:
        module = "bench.jws_limit"
        env["MCPGW_DP_SNAPSHOT_FILE"] = str(snapshot[0])
        env["MCPGW_DP_VERIFY_KEY"] = str(snapshot[1])
        env["MCPGW_DP_GROUP_KEY"] = str(snapshot[2])
    child = stack.add(Child.python(name, ["-m", module, "data-plane"], stack.log_dir, env))
    child.wait_until(http_ok(f"http://127.0.0.1:{admin_port}/readyz"), seconds=ready_seconds, what="ready")
    return DataPlane(child, port, admin_port)


def register(cp: ControlPlane, *, fast_url: str, sdk_url: str) -> Keys:
    """Workspace ``bench``, servers ``fast`` and ``sdk``, keys ``narrow`` (tool lists) and ``wide``."""
    cp.admin("POST", "/workspaces", {"slug": "bench"})
    cp.admin(
        "POST",
        "/servers",
        {
            "slug": "fast",
            "workspace": "bench",
            "url": fast_url,
            "headers": {"X-Api-Key": UPSTREAM_SECRET},
            "discover": False,
        },
    )
    cp.admin("POST", "/servers", {"slug": "sdk", "workspace": "bench", "url": sdk_url})
    narrow = cp.admin(
        "POST",
        "/keys",
        {
            "name": "narrow",
            "workspace": "bench",
            "tools": {"fast": ["echo", "big", "stream"], "sdk": ["echo"]},
        },
    )
    wide = cp.admin("POST", "/keys", {"name": "wide", "workspace": "bench", "servers": ["fast", "sdk"]})
    return Keys(narrow["secret"], wide["secret"], {"narrow": narrow["id"], "wide": wide["id"]})


def key_status(url: str, secret: str) -> int:
    """HTTP status of one ``tools/call echo`` with ``secret`` (0 when unreachable)."""
    headers = {"Authorization": f"Bearer {secret}", "Accept": ACCEPT}
    try:
        return httpx.post(url, json=CALL, headers=headers, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def wait_key_works(url: str, secret: str, seconds: float = 30, *, consecutive: int = 1) -> None:
    """Wait until the data plane at ``url`` accepts ``secret`` (the snapshot arrived) on
    ``consecutive`` new connections in a row (which the kernel spreads over its workers)."""
    deadline = time.monotonic() + seconds
    streak = 0
    while time.monotonic() < deadline:
        streak = streak + 1 if key_status(url, secret) == 200 else 0
        if streak >= consecutive:
            return
        if not streak:
            time.sleep(0.05)
    raise RuntimeError(f"key not accepted at {url} within {seconds}s")

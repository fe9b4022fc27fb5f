"""An MCP Gateway deployment made of real processes, driven as a user drives it.

Control plane (``mcpgw control-plane``), data plane (``mcpgw data-plane``) and an upstream MCP
server built on the official SDK, each its own process on free loopback ports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import free_port
from tests.e2e.processes import Child, http_ok

ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"
UPSTREAM_SECRET = "upstream-secret-value-42"


@dataclass
class Gateway:
    """Handles to every process of one deployment and the admin API."""

    tmp: Path
    database_url: str
    cp_http: int = field(default_factory=free_port)
    cp_grpc: int = field(default_factory=free_port)
    dp_port: int = field(default_factory=free_port)
    dp_admin: int = field(default_factory=free_port)
    upstream_port: int = field(default_factory=free_port)
    children: list[Child] = field(default_factory=list)
    control_plane: Child | None = None
    data_plane: Child | None = None

    @property
    def cp_state(self) -> Path:
        return self.tmp / "cp-state"

    @property
    def dp_state(self) -> Path:
        return self.tmp / "dp-state"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.cp_http}"

    @property
    def upstream_url(self) -> str:
        return f"http://127.0.0.1:{self.upstream_port}/mcp"

    def mcp_url(self, slug: str) -> str:
        return f"http://127.0.0.1:{self.dp_port}/{slug}/mcp"

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Child:
        child = Child(name, args, self.tmp / "logs" / f"{name}.log", env or {}).start()
        self.children.append(child)
        return child

    def start_upstream(self) -> Child:
        """The official-SDK upstream, which refuses requests lacking the injected credential."""
        child = self._spawn(
            "upstream",
            [
                "-m",
                "tests.servers.echo_server",
                "--port",
                str(self.upstream_port),
                "--require-header",
                f"X-Api-Key={UPSTREAM_SECRET}",
            ],
        )
        child.wait_until(http_ok(self.upstream_url, any_status=True), what="listening")
        return child

    def start_control_plane(self, *, signing_key_file: Path | None = None) -> Child:
        env = {
            "MCPGW_STATE_DIR": str(self.cp_state),
            "MCPGW_DATABASE_URL": self.database_url,
            "MCPGW_CP_HTTP_PORT": str(self.cp_http),
            "MCPGW_CP_GRPC_PORT": str(self.cp_grpc),
            "MCPGW_ADMIN_TOKEN": ADMIN_TOKEN,
        }
        if signing_key_file is not None:
            env["MCPGW_SIGNING_KEY_FILE"] = str(signing_key_file)
        self.control_plane = self._spawn("control-plane", ["-m", "mcpgw.cli", "control-plane"], env)
        self.control_plane.wait_until(http_ok(f"{self.admin_url}/healthz"), what="healthy")
        return self.control_plane

    def start_data_plane(
        self,
        *,
        wait_ready: bool = True,
        control_plane: str | None = None,
        snapshot_file: Path | None = None,
        workers: int = 1,
    ) -> Child:
        """The data plane, dialling the control plane (or ``control_plane``, e.g. a relay)."""
        env = {
            "MCPGW_DP_LISTEN": f"127.0.0.1:{self.dp_port}",
            "MCPGW_DP_ADMIN_LISTEN": f"127.0.0.1:{self.dp_admin}",
            "MCPGW_DP_CONTROL_PLANE": control_plane or f"127.0.0.1:{self.cp_grpc}",
            "MCPGW_DP_GROUP": "default",
            "MCPGW_DP_VERIFY_KEY": str(self.cp_state / "signing-key.pub.jwk"),
            "MCPGW_DP_GROUP_KEY": str(self.cp_state / "groups" / "default.jwk"),
            "MCPGW_DP_STATE_DIR": str(self.dp_state),
        }
        if snapshot_file is not None:
            env["MCPGW_DP_SNAPSHOT_FILE"] = str(snapshot_file)
        if workers > 1:
            env["MCPGW_DP_WORKERS"] = str(workers)
        self.data_plane = self._spawn("data-plane", ["-m", "mcpgw.cli", "data-plane"], env)
        if wait_ready:
            self.data_plane.wait_until(http_ok(self.readyz_url), what="ready")
        return self.data_plane

    @property
    def readyz_url(self) -> str:
        return f"http://127.0.0.1:{self.dp_admin}/readyz"

    def readyz(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(self.readyz_url, timeout=5).json()
        return result

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()

    def logs(self) -> str:
        return "\n\n".join(f"--- {c.name} ---\n{c.tail()}" for c in self.children)

    # --- admin API -------------------------------------------------------------------------

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the admin API with the admin token."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return httpx.request(method, f"{self.admin_url}/api/v1{path}", headers=headers, timeout=30, **kwargs)

    def admin_ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.admin(method, path, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def register_upstream(self, **fields: Any) -> Any:
        """Workspace ``demo`` and server ``py`` -> the test upstream (with its API key header);
        ``fields`` add to or override the server's fields."""
        self.admin_ok("POST", "/workspaces", json={"slug": "demo"})
        server = {
            "slug": "py",
            "workspace": "demo",
            "url": self.upstream_url,
            "headers": {"X-Api-Key": UPSTREAM_SECRET},
            **fields,
        }
        return self.admin_ok("POST", "/servers", json=server)

    @asynccontextmanager
    async def mcp_client(self, slug: str, key: str, *, mode: str = "auto") -> AsyncIterator[Client]:
        """The official MCP client, connected through the data plane with a Bearer key."""
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            async with Client(
                streamable_http_client(self.mcp_url(slug), http_client=http), mode=mode
            ) as client:
                yield client

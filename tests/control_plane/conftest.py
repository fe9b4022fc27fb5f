"""Fixtures for control-plane tests: an app on SQLite in tmp_path, an admin client, a real MCP server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from mcp.server import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

from control_plane.api.deps import ControlPlaneState
from control_plane.app import create_app
from control_plane.settings import ControlPlaneSettings

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


@pytest.fixture
def settings(tmp_path: Path) -> ControlPlaneSettings:
    return ControlPlaneSettings(
        state_dir=tmp_path / "state",
        database_url=f"sqlite:///{tmp_path / 'control-plane.db'}",
        admin_token=ADMIN_TOKEN,
        master_key="",
        discovery_timeout_seconds=5.0,
    )


@pytest.fixture
def client(settings: ControlPlaneSettings) -> Iterator[TestClient]:
    """An admin client of a started app (lifespan run, distribution not started)."""
    app = create_app(settings, start_distribution=False)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as test_client:
        yield test_client


def state_of(client: TestClient) -> ControlPlaneState:
    """The running app's state (database, secret box) for tests that inspect rows."""
    state = client.app.state.control_plane  # type: ignore[attr-defined]
    assert isinstance(state, ControlPlaneState)
    return state


class _HeaderRecorder:
    """ASGI wrapper that remembers the headers of every HTTP request the upstream received."""

    def __init__(self, app: ASGIApp, seen: list[dict[str, str]]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@dataclass
class UpstreamServer:
    """A real MCP server (official SDK) serving Streamable HTTP on loopback."""

    url: str
    seen_headers: list[dict[str, str]] = field(default_factory=list)


def build_mcp_server() -> MCPServer:
    """The upstream used by discovery tests: ``echo`` and ``add``."""
    server = MCPServer(name="cp-test-upstream")

    @server.tool(description="Echo the given text back.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    return server


@pytest.fixture
def upstream() -> Iterator[UpstreamServer]:
    """Serve :func:`build_mcp_server` with uvicorn in a thread, on a socket bound before it starts."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections queue in the backlog until uvicorn accepts: no readiness wait
    port = sock.getsockname()[1]
    recorded = UpstreamServer(url=f"http://127.0.0.1:{port}/mcp")
    app = _HeaderRecorder(build_mcp_server().streamable_http_app(host="127.0.0.1"), recorded.seen_headers)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

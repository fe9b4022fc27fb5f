"""Run data planes in the test's event loop: air-gapped from a signed snapshot file.

Also the two-replica harness: :class:`Alternator`, a tiny forwarder that sends each HTTP
request to the next data plane in turn (a test harness standing in for "no load balancer
affinity", not a mock of any real part).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from data_plane.app import create_app
from data_plane.settings import DataPlaneSettings
from shared import keyfiles
from tests.data_plane.kit import UPSTREAM_SECRET, KeyPair, make_snapshot, sign


@dataclass
class RunningDataPlane:
    """A started data plane: its app (for its objects) and its base URL."""

    app: web.Application
    base_url: str

    def mcp_url(self, slug: str = "py") -> str:
        return f"{self.base_url}/{slug}/mcp"


def dp_settings(
    keys: KeyPair, tmp_path: Path, *, snapshot_file: Path | None = None, tables: bool = False
) -> DataPlaneSettings:
    """Settings with the test's keys on disk and no control plane; ``tables``: every snapshot,
    however small, is compiled by the helper process into tables read on first use."""
    verify = tmp_path / "verify.jwk"
    verify.write_text(json.dumps(keyfiles.public_jwk(keys.signing)))
    group = tmp_path / "group.jwk"
    keyfiles.write_private(group, keys.group)
    return DataPlaneSettings(
        control_plane=None,
        verify_key_file=verify,
        group_key_file=group,
        state_dir=tmp_path / "dp-state",
        snapshot_file=snapshot_file,
        public_url="https://dp.example.test",
        **({"large_snapshot_bytes": 1} if tables else {}),
    )


@asynccontextmanager
async def running_data_plane(
    keys: KeyPair, tmp_path: Path, upstream_url: str, *, tables: bool = False, **snapshot: Any
) -> AsyncIterator[RunningDataPlane]:
    """A data plane on 127.0.0.1:<free port> serving ``py`` -> ``upstream_url`` with the test keys.

    Two data planes started with the same ``keys`` (in different ``tmp_path`` directories) are
    replicas of one group: same snapshot, same group key, separate state and node ids.
    ``snapshot`` goes to :func:`make_snapshot` (``access``, ``tools``, ``extra_keys``); ``tables``
    as in :func:`dp_settings`.
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    snapshot_file = tmp_path / "exported.jws"
    snapshot = make_snapshot(keys, url=upstream_url, headers={"X-Api-Key": UPSTREAM_SECRET}, **snapshot)
    snapshot_file.write_text(sign(snapshot, keys))
    app = create_app(dp_settings(keys, tmp_path, snapshot_file=snapshot_file, tables=tables))
    async with serving(app) as base_url:
        yield RunningDataPlane(app=app, base_url=base_url)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1:0 as production does (AppRunner, handler cancellation on)."""
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        assert runner.addresses
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


_HOP_BY_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive"})


@dataclass(frozen=True)
class Forwarded:
    """One request the alternator forwarded: to which replica, and what it was."""

    replica: int
    method: str
    session_id: str | None
    body: bytes


@dataclass
class Alternator:
    """Forwards request N to ``targets[N % len(targets)]``, streaming the answer back."""

    targets: list[str]
    log: list[Forwarded] = field(default_factory=list)
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        replica = next(self._turn) % len(self.targets)
        body = await request.read()
        self.log.append(Forwarded(replica, request.method, request.headers.get("Mcp-Session-Id"), body))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        http: aiohttp.ClientSession = request.app[_HTTP]
        async with http.request(
            request.method, self.targets[replica] + request.path_qs, headers=headers, data=body or None
        ) as answer:
            response = web.StreamResponse(
                status=answer.status,
                headers={k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP},
            )
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response


_HTTP = web.AppKey("http", aiohttp.ClientSession)


@asynccontextmanager
async def alternating(*replicas: RunningDataPlane) -> AsyncIterator[tuple[str, Alternator]]:
    """A base URL whose requests alternate between ``replicas``, and the alternator's log."""
    alternator = Alternator([r.base_url for r in replicas])
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", alternator.handle)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as http:
        app[_HTTP] = http
        async with serving(app) as base_url:
            yield base_url, alternator

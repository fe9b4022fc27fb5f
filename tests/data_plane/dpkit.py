"""Run a data plane in the test's event loop: air-gapped from a signed snapshot file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

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


def dp_settings(keys: KeyPair, tmp_path: Path, *, snapshot_file: Path | None = None) -> DataPlaneSettings:
    """Settings with the test's keys on disk and no control plane."""
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
    )


@asynccontextmanager
async def running_data_plane(
    keys: KeyPair, tmp_path: Path, upstream_url: str
) -> AsyncIterator[RunningDataPlane]:
    """A data plane on 127.0.0.1:<free port> serving ``py`` -> ``upstream_url`` with the test keys."""
    snapshot_file = tmp_path / "exported.jws"
    snapshot = make_snapshot(keys, url=upstream_url, headers={"X-Api-Key": UPSTREAM_SECRET})
    snapshot_file.write_text(sign(snapshot, keys))
    app = create_app(dp_settings(keys, tmp_path, snapshot_file=snapshot_file))
    async with serving(app) as base_url:
        yield RunningDataPlane(app=app, base_url=base_url)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1:0 as production does (AppRunner, no handler cancellation)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        assert runner.addresses
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()

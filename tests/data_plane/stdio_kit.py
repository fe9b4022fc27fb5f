"""Test kit for stdio upstreams: snapshots whose server ``py`` is the stdio test server.

The data plane launches ``tests/servers/stdio_server.py`` (official SDK, stdio) itself, as it
would launch ``npx ...`` in production; tests reach it only through the data plane.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from data_plane import keys as app_keys
from data_plane.app import create_app
from data_plane.runtime.stdio.pool import StdioPool
from shared.sealing import seal
from shared.snapshot import Sealed, ServerEntry, Snapshot, StdioEntry, with_content_hash
from tests.data_plane.dpkit import RunningDataPlane, dp_settings, serving
from tests.data_plane.kit import KeyPair, make_snapshot, sign

STDIO_SERVER = Path(__file__).resolve().parents[1] / "servers" / "stdio_server.py"


def stdio_entry(keys: KeyPair, *, env: dict[str, str] | None = None, **options: Any) -> StdioEntry:
    """The stdio test server as a snapshot entry; ``env`` values sealed to the group."""
    sealed = {name: Sealed(sealed=seal(value, keys.group_public)) for name, value in (env or {}).items()}
    fields: dict[str, Any] = {"command": sys.executable, "args": [str(STDIO_SERVER)], "env": sealed}
    return StdioEntry(**(fields | options))


def stdio_snapshot(keys: KeyPair, *, version: str = "1", **options: Any) -> Snapshot:
    """The kit's snapshot (keys, server ``other``) with ``py`` a stdio server."""
    base = make_snapshot(keys, version=version)
    stdio = ServerEntry(
        id="srv-py",
        workspace="demo",
        transport="stdio",
        stdio=stdio_entry(keys, **options),
        timeout_seconds=10,
    )
    return with_content_hash(base.model_copy(update={"servers": {**base.servers, "py": stdio}}))


@asynccontextmanager
async def running_stdio_data_plane(
    keys: KeyPair, tmp_path: Path, **options: Any
) -> AsyncIterator[RunningDataPlane]:
    """A data plane (stdio allowed) serving the stdio test server as ``py``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    snapshot_file = tmp_path / "exported.jws"
    snapshot_file.write_text(sign(stdio_snapshot(keys, **options), keys))
    settings = replace(dp_settings(keys, tmp_path, snapshot_file=snapshot_file), allow_stdio=True)
    app = create_app(settings)
    async with serving(app) as base_url:
        yield RunningDataPlane(app=app, base_url=base_url)


def pool_of(dp: RunningDataPlane) -> StdioPool:
    """The one stdio pool of ``dp``."""
    (pool,) = dp.app[app_keys.STDIO].pools()
    return pool


async def until(pool: StdioPool, condition: Callable[[], bool], *, seconds: float = 10) -> None:
    """Wait (bounded) until ``condition()`` holds, re-checking whenever the pool changes."""
    async with asyncio.timeout(seconds), pool.changed:
        await pool.changed.wait_for(condition)

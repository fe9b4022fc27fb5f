"""Stdio servers in a snapshot: env values unsealed at compile time, refused when stdio is off."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from data_plane.runtime.stdio.launch import STDIO_ORIGIN
from data_plane.snapshot.store import SnapshotStore
from shared.snapshot import ServerEntry, SnapshotRejected, StdioEntry
from tests.data_plane.kit import KeyPair, sign
from tests.data_plane.stdio_kit import STDIO_SERVER, stdio_snapshot


def _store(keys: KeyPair, tmp_path: Path, *, allow_stdio: bool, group_key: bool = True) -> SnapshotStore:
    return SnapshotStore(
        verify_key=keys.verify,
        group_key=keys.group if group_key else None,
        group="default",
        last_good_file=tmp_path / "last-good.jws",
        allow_stdio=allow_stdio,
    )


async def test_a_stdio_server_compiles_to_a_launch_with_its_env_unsealed(
    keys: KeyPair, tmp_path: Path
) -> None:
    snapshot = stdio_snapshot(
        keys, env={"API_TOKEN": "t0ken", "PATH": "/opt/bin"}, cwd="/srv", max_processes=2
    )
    jws = sign(snapshot, keys)
    store = _store(keys, tmp_path, allow_stdio=True)
    await store.apply(jws)

    assert "t0ken" not in jws
    assert store.current is not None
    upstream = store.current.servers["py"]
    assert upstream.stdio is not None
    assert upstream.url.startswith(STDIO_ORIGIN + "/py/")
    assert upstream.injected_headers == ()
    assert (upstream.stdio.command, upstream.stdio.args) == (sys.executable, (str(STDIO_SERVER),))
    assert upstream.stdio.environment == {
        "API_TOKEN": "t0ken",
        "PATH": "/opt/bin",
        "HOME": os.environ.get("HOME") or "/",
        "LANG": os.environ.get("LANG") or "C.UTF-8",
    }
    assert (upstream.stdio.cwd, upstream.stdio.max_processes) == ("/srv", 2)
    assert "t0ken" not in repr(upstream)


async def test_a_data_plane_without_allow_stdio_refuses_a_snapshot_with_a_stdio_server(
    keys: KeyPair, tmp_path: Path
) -> None:
    store = _store(keys, tmp_path, allow_stdio=False)
    with pytest.raises(SnapshotRejected) as refused:
        await store.apply(sign(stdio_snapshot(keys), keys))
    assert "MCPGW_DP_ALLOW_STDIO" in refused.value.reason and "'py'" in refused.value.reason
    assert store.current is None
    assert not (tmp_path / "last-good.jws").exists()


async def test_an_env_value_that_cannot_be_unsealed_refuses_the_snapshot(
    keys: KeyPair, tmp_path: Path
) -> None:
    store = _store(keys, tmp_path, allow_stdio=True, group_key=False)
    with pytest.raises(SnapshotRejected, match="env 'API_TOKEN' of server 'py'"):
        await store.apply(sign(stdio_snapshot(keys, env={"API_TOKEN": "x"}), keys))


async def test_a_changed_launch_gets_a_new_pool_url(keys: KeyPair, tmp_path: Path) -> None:
    store = _store(keys, tmp_path, allow_stdio=True)
    await store.apply(sign(stdio_snapshot(keys, version="1", env={"A": "1"}), keys))
    assert store.current is not None
    before = store.current.servers["py"].url
    await store.apply(sign(stdio_snapshot(keys, version="2", env={"A": "1"}), keys))
    assert store.current.servers["py"].url == before
    await store.apply(sign(stdio_snapshot(keys, version="3", env={"A": "2"}), keys))
    assert store.current.servers["py"].url != before


@pytest.mark.parametrize(
    "fields",
    [
        {"transport": "stdio"},
        {"transport": "streamable-http", "stdio": StdioEntry(command="x")},
        {"transport": "stdio", "stdio": StdioEntry(command="x"), "url": "http://127.0.0.1:9/mcp"},
    ],
)
def test_the_schema_keeps_stdio_settings_and_transport_together(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ServerEntry(id="s", workspace="w", **fields)  # type: ignore[arg-type]


def test_a_pool_cannot_have_a_minimum_above_its_maximum() -> None:
    with pytest.raises(ValidationError, match="min_processes"):
        StdioEntry(command="x", min_processes=3, max_processes=2)

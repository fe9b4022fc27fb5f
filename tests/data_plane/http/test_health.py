"""Admin port: /healthz and /readyz, and boot from disk while the control plane is away."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx

from data_plane import keys as app_keys
from data_plane.app import create_admin_app, create_app
from tests.conftest import free_port
from tests.data_plane.dpkit import dp_settings, serving
from tests.data_plane.kit import KeyPair, make_snapshot, sign


async def test_without_a_snapshot_the_data_plane_is_alive_but_not_ready(
    keys: KeyPair, tmp_path: Path
) -> None:
    app = create_app(dp_settings(keys, tmp_path))
    async with serving(app), serving(create_admin_app(app)) as admin:
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.get(f"{admin}/healthz")).status_code == 200
            ready = await http.get(f"{admin}/readyz")
    assert ready.status_code == 503
    assert ready.json()["ready"] is False and ready.json()["snapshot_version"] == ""


async def test_snapshot_file_makes_it_ready_with_source_file(keys: KeyPair, tmp_path: Path) -> None:
    exported = tmp_path / "exported.jws"
    exported.write_text(sign(make_snapshot(keys, version="42"), keys))
    app = create_app(dp_settings(keys, tmp_path, snapshot_file=exported))
    async with serving(app), serving(create_admin_app(app)) as admin:
        async with httpx.AsyncClient(timeout=5) as http:
            ready = await http.get(f"{admin}/readyz")
    assert ready.status_code == 200
    assert ready.json() | {"snapshot_hash": ""} == {
        "ready": True,
        "snapshot_version": "42",
        "snapshot_hash": "",
        "source": "file",
        "control_plane_connected": False,
        "control_plane_error": "",
        "audit_dropped": 0,
    }


async def test_boots_from_last_good_on_disk_when_the_control_plane_is_unreachable(
    keys: KeyPair, tmp_path: Path
) -> None:
    settings = dataclasses.replace(dp_settings(keys, tmp_path), control_plane=f"127.0.0.1:{free_port()}")
    settings.state_dir.mkdir(parents=True)
    settings.last_good_file.write_text(sign(make_snapshot(keys, version="7"), keys))
    app = create_app(settings)
    async with serving(app), serving(create_admin_app(app)) as admin:
        async with httpx.AsyncClient(timeout=5) as http:
            ready = await http.get(f"{admin}/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["ready"], body["snapshot_version"], body["source"]) == (True, "7", "disk")
    assert body["control_plane_connected"] is False


async def test_node_id_is_stable_across_restarts(keys: KeyPair, tmp_path: Path) -> None:
    first = create_app(dp_settings(keys, tmp_path))[app_keys.NODE_ID]
    second = create_app(dp_settings(keys, tmp_path))[app_keys.NODE_ID]
    assert first == second and len(first) == 36

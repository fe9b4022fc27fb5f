"""Propagation: from an admin API change to enforcement on every connected data plane.

Each trial creates a key (timed until every data plane accepts it), then revokes it through
the admin API and polls every data plane with the key until each answers 401. The figure of a
trial is the time until the *last* data plane refuses.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import uvloop

from bench.gateway import ACCEPT, ADMIN_TOKEN, CALL, ControlPlane, DataPlane

POLL_TIMEOUT_SECONDS = 30.0
POLL_PAUSE_SECONDS = 0.005
"""Pause between polls of one data plane: 5 ms resolution, without hogging the shared cores."""


async def _until_status(
    http: aiohttp.ClientSession, url: str, secret: str, wanted: int, deadline: float
) -> float:
    """Poll ``url`` until it answers ``wanted``; returns the perf_counter time it did."""
    headers = {"Authorization": f"Bearer {secret}", "Accept": ACCEPT}
    while time.perf_counter() < deadline:
        async with http.post(url, json=CALL, headers=headers) as response:
            await response.read()
            if response.status == wanted:
                return time.perf_counter()
        await asyncio.sleep(POLL_PAUSE_SECONDS)
    raise TimeoutError(f"{url} did not answer {wanted} within {POLL_TIMEOUT_SECONDS}s")


async def _admin(http: aiohttp.ClientSession, cp: ControlPlane, path: str, body: dict[str, Any]) -> Any:
    url = f"http://127.0.0.1:{cp.http_port}/api/v1{path}"
    async with http.post(url, json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as response:
        if response.status >= 300:
            raise RuntimeError(f"POST {path}: {response.status} {await response.text()}")
        return await response.json()


async def _trial(
    http: aiohttp.ClientSession, cp: ControlPlane, dps: list[DataPlane], n: int
) -> tuple[float, float]:
    urls = [dp.url("fast") for dp in dps]
    t0 = time.perf_counter()
    key = await _admin(http, cp, "/keys", {"name": f"prop-{n}", "workspace": "bench", "servers": ["fast"]})
    deadline = t0 + POLL_TIMEOUT_SECONDS
    seen = await asyncio.gather(*(_until_status(http, u, key["secret"], 200, deadline) for u in urls))
    created = max(seen) - t0
    t0 = time.perf_counter()
    pollers = [
        asyncio.ensure_future(_until_status(http, u, key["secret"], 401, t0 + POLL_TIMEOUT_SECONDS))
        for u in urls
    ]
    await _admin(http, cp, f"/keys/{key['id']}/revoke", {})
    revoked = max(await asyncio.gather(*pollers)) - t0
    return created, revoked


async def _trials(
    cp: ControlPlane, dps: list[DataPlane], trials: int, first: int
) -> list[tuple[float, float]]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        return [await _trial(http, cp, dps, first + n) for n in range(trials)]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def measure(cp: ControlPlane, dps: list[DataPlane], trials: int, first: int = 0) -> dict[str, Any]:
    """Run ``trials`` create-then-revoke trials against ``dps``; milliseconds, p50/p99/max."""
    results = uvloop.run(_trials(cp, dps, trials, first))
    created = [c for c, _ in results]
    revoked = [r for _, r in results]
    return {
        "data_planes": len(dps),
        "trials": trials,
        "revoke_p50_ms": _pct(revoked, 0.50),
        "revoke_p99_ms": _pct(revoked, 0.99),
        "revoke_max_ms": round(max(revoked) * 1000, 1),
        "create_p50_ms": _pct(created, 0.50),
        "create_p99_ms": _pct(created, 0.99),
    }

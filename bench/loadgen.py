"""Load generators: wrk (stateless POSTs, C speed) and an asyncio aiohttp client (sessions).

Both return a :class:`Point`: throughput and latency percentiles of one target at one
concurrency level. CPU and RSS of the processes under test are sampled around the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from bench.procs import cpu_seconds, rss_mb

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "mcp_call.lua"
ACCEPT = "application/json, text/event-stream"
PROTOCOL_VERSION = "2025-06-18"


@dataclass
class Point:
    """One measurement: ``rps`` requests/s, latencies in milliseconds, CPU in cores used."""

    concurrency: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    cpu_cores: dict[str, float] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class Sampler:
    """CPU seconds of named processes over an interval, and their RSS at its end."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self._pids = pids
        self._start: dict[str, float] = {}
        self._t0 = 0.0

    def _cpu(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in pids) for name, pids in self._pids.items()}

    def __enter__(self) -> Sampler:
        self._start = self._cpu()
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def fill(self, point: Point) -> Point:
        """Put cores used (CPU seconds / wall seconds) and RSS into ``point``."""
        wall = max(time.monotonic() - self._t0, 1e-9)
        end = self._cpu()
        point.cpu_cores = {n: round((end[n] - self._start[n]) / wall, 3) for n in end}
        point.rss_mb = {n: round(sum(rss_mb(p) for p in pids), 1) for n, pids in self._pids.items()}
        return point


def wrk(url: str, *, tool: str, key: str, concurrency: int, seconds: float) -> Point:
    """Run wrk with the tools/call script; raises ``RuntimeError`` when wrk fails."""
    threads = min(concurrency, os.cpu_count() or 1)
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    env = {**os.environ, "BENCH_TOOL": tool, "BENCH_AUTH": key}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-400:]} {done.stderr[-400:]}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(data["errors"].values())
    secs = data["duration_us"] / 1e6
    lat = data["latency_us"]
    return Point(
        concurrency=concurrency,
        requests=data["requests"],
        errors=errors,
        seconds=round(secs, 3),
        rps=round(data["requests"] / secs, 1),
        p50_ms=lat["p50"] / 1000,
        p99_ms=lat["p99"] / 1000,
        mean_ms=round(lat["mean"] / 1000, 3),
    )


def rpc(method: str, rpc_id: int | None, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-RPC message (a notification when ``rpc_id`` is None)."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if rpc_id is not None:
        message["id"] = rpc_id
    if params is not None:
        message["params"] = params
    return message


INITIALIZE = rpc(
    "initialize",
    1,
    {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    },
)


class McpClient:
    """Minimal Streamable HTTP calls on one aiohttp session (JSON or SSE answers)."""

    def __init__(self, http: aiohttp.ClientSession, url: str, key: str) -> None:
        self.http = http
        self.url = url
        self.headers = {"Accept": ACCEPT, "MCP-Protocol-Version": PROTOCOL_VERSION}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"

    async def post(self, message: dict[str, Any]) -> bool:
        """POST one message and read the whole answer; True when it is a success."""
        async with self.http.post(self.url, json=message, headers=self.headers) as response:
            body = await response.read()
            if "id" not in message:
                return response.status == 202
            ok = response.status == 200 and b'"result"' in body
            if ok and message.get("method") == "initialize" and "Mcp-Session-Id" in response.headers:
                self.headers["Mcp-Session-Id"] = response.headers["Mcp-Session-Id"]
            return ok

    async def handshake(self) -> bool:
        """``initialize`` then ``notifications/initialized``."""
        self.headers.pop("Mcp-Session-Id", None)
        ok = await self.post(INITIALIZE)
        return ok and await self.post(rpc("notifications/initialized", None))

    async def close(self) -> None:
        """End the session (DELETE) when the server gave one."""
        if "Mcp-Session-Id" in self.headers:
            async with self.http.delete(self.url, headers=self.headers) as response:
                await response.read()
            self.headers.pop("Mcp-Session-Id")


Op = Callable[[McpClient, int], Awaitable[tuple[bool, float]]]
"""One operation: success and the seconds that count as its latency."""


async def _drive(url: str, key: str, op: Op, *, concurrency: int, seconds: float, setup: bool) -> Point:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        deadline = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            nonlocal errors
            client = McpClient(http, url, key)
            if setup and not await client.handshake():
                errors += 1
                return
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                ok, elapsed = await op(client, n * 1_000_000 + i)
                latencies.append(elapsed)
                errors += not ok
            await client.close()

        start = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        wall = time.perf_counter() - start
    latencies.sort()
    count = len(latencies)

    def pct(q: float) -> float:
        return round(latencies[min(count - 1, int(q * count))] * 1000, 3) if count else 0.0

    return Point(
        concurrency=concurrency,
        requests=count,
        errors=errors,
        seconds=round(wall, 3),
        rps=round(count / wall, 1),
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
        mean_ms=round(sum(latencies) / count * 1000, 3) if count else 0.0,
    )


async def call_echo(client: McpClient, rpc_id: int) -> tuple[bool, float]:
    """One ``tools/call echo`` in the client's session."""
    t0 = time.perf_counter()
    ok = await client.post(rpc("tools/call", rpc_id, {"name": "echo", "arguments": {"text": "hi"}}))
    return ok, time.perf_counter() - t0


async def handshake_once(client: McpClient, _rpc_id: int) -> tuple[bool, float]:
    """One session set-up (``initialize`` + ``initialized``); its teardown (DELETE) is not timed."""
    t0 = time.perf_counter()
    ok = await client.handshake()
    elapsed = time.perf_counter() - t0
    await client.close()
    return ok, elapsed


def session_calls(url: str, key: str, *, concurrency: int, seconds: float) -> Point:
    """Each worker opens a session once, then calls ``echo`` in it until time is up."""
    return uvloop.run(_drive(url, key, call_echo, concurrency=concurrency, seconds=seconds, setup=True))


def session_setups(url: str, key: str, *, concurrency: int, seconds: float) -> Point:
    """Each worker sets up sessions back to back; a "request" is one whole handshake."""
    return uvloop.run(_drive(url, key, handshake_once, concurrency=concurrency, seconds=seconds, setup=False))

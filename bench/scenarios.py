"""Request-path scenarios, all in one run so they compare as ratios.

Stateless ``tools/call`` through wrk: direct to the fast upstream, through nginx, through the
naive aiohttp proxy, and through the data plane with a tool-scoped and a whole-server key;
with a small JSON result, a 1 MiB result and an SSE-streamed result. Session-based calls and
session set-up through the asyncio client, against the fast and the official-SDK upstreams.
Levels of one payload are interleaved across targets so drift hits every target alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.loadgen import ACCEPT, PROTOCOL_VERSION, Point, Sampler, session_calls, session_setups, wrk

logger = logging.getLogger(__name__)

EXPECT = {"echo": b"hello from wrk", "big": b"x" * 1024, "stream": b"event: message"}
"""A byte string each tool's answer must contain (checked once before measuring)."""


@dataclass
class Target:
    """Something to send load to: URL, key, and the processes whose CPU and RSS count."""

    name: str
    url: str
    key: str = ""
    pids: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class Series:
    """One scenario: a target with one kind of call, at every concurrency level."""

    scenario: str
    target: str
    kind: str
    points: list[Point] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "scenario": self.scenario,
            "target": self.target,
            "kind": self.kind,
            "points": [p.as_dict() for p in self.points],
        }


def check_answer(target: Target, tool: str) -> None:
    """One call before measuring: the answer must be a success carrying the expected bytes."""
    params = {"name": tool, "arguments": {"text": "hello from wrk"}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    headers = {"Accept": ACCEPT, "MCP-Protocol-Version": PROTOCOL_VERSION}
    if target.key:
        headers["Authorization"] = f"Bearer {target.key}"
    response = httpx.post(target.url, json=body, headers=headers, timeout=30)
    if response.status_code != 200 or EXPECT[tool] not in response.content or b'"error"' in response.content:
        raise RuntimeError(
            f"{target.name} answers {tool} wrongly: {response.status_code} {response.text[:300]}"
        )


def stateless(
    targets: list[Target], tools: list[str], levels: list[int], seconds: float, warmup: float
) -> list[Series]:
    """wrk against every target for every tool and level."""
    out: list[Series] = []
    for tool in tools:
        series = [Series(f"{tool}/{t.name}", t.name, f"wrk tools/call {tool}") for t in targets]
        for target in targets:
            check_answer(target, tool)
            if warmup > 0:
                wrk(target.url, tool=tool, key=target.key, concurrency=16, seconds=warmup)
        for level in levels:
            for target, s in zip(targets, series, strict=True):
                with Sampler(target.pids) as sampler:
                    point = wrk(target.url, tool=tool, key=target.key, concurrency=level, seconds=seconds)
                s.points.append(sampler.fill(point))
                logger.info("%-24s c=%-3d %s", s.scenario, level, _brief(point))
        out.extend(series)
    return out


def sessions(targets: list[Target], levels: list[int], seconds: float, *, setup_only: bool) -> list[Series]:
    """asyncio client: calls inside one session each, or back-to-back session set-ups."""
    kind = "session set-up (initialize + initialized)" if setup_only else "tools/call echo in a session"
    prefix = "init" if setup_only else "session"
    out: list[Series] = []
    for target in targets:
        s = Series(f"{prefix}/{target.name}", target.name, f"asyncio {kind}")
        for level in levels:
            run = session_setups if setup_only else session_calls
            with Sampler(target.pids) as sampler:
                point = run(target.url, target.key, concurrency=level, seconds=seconds)
            s.points.append(sampler.fill(point))
            logger.info("%-24s c=%-3d %s", s.scenario, level, _brief(point))
        out.append(s)
    return out


def _brief(point: Point) -> str:
    cpu = " ".join(f"{k}={v:.2f}" for k, v in point.cpu_cores.items())
    return (
        f"{point.rps:>9.1f} rps  p50 {point.p50_ms:7.3f} ms  p99 {point.p99_ms:7.3f} ms  "
        f"errors {point.errors}  cpu {cpu}"
    )

"""The compiled snapshot: runtime indexes built once per snapshot, read on every request.

Every lookup on the hot path is one dict access. Injected header values are unsealed once,
at compile time, and live only in memory (never persisted, never logged).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp


@dataclass(frozen=True, slots=True)
class Principal:
    """An agent key as the data plane enforces it."""

    key_id: str
    name: str
    workspace: str
    expires_at: int | None
    servers: dict[str, frozenset[str] | None]
    """Server slug -> allowed tool names (``None``: every tool of that server)."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """An upstream MCP server reachable at ``/{slug}/mcp``."""

    slug: str
    server_id: str
    workspace: str
    url: str
    timeout_seconds: float
    injected_headers: tuple[tuple[str, str], ...] = field(repr=False)
    """Unsealed credential headers; ``repr=False`` so they never reach a log line."""
    request_timeout: aiohttp.ClientTimeout
    """For POST: bounded connect, ``sock_read`` = server timeout, no total (SSE may stream)."""
    stream_timeout: aiohttp.ClientTimeout
    """For the GET stream: bounded connect, no read bound (long-lived server-initiated SSE)."""


@dataclass(frozen=True, slots=True)
class CompiledSnapshot:
    """One verified snapshot, ready to serve."""

    version: str
    hash: str
    group: str
    jws: str = field(repr=False)
    keys: dict[str, Principal]
    """SHA-256 of the key secret -> principal."""
    servers: dict[str, Upstream]
    """Server slug -> upstream."""

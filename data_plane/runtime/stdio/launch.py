"""What a data plane launches for a stdio server, compiled once per snapshot.

The environment is built here, once: the minimal base and the configured variables, their
sealed values opened with the group key (``shared.stdio_env``). The data plane's own
environment never reaches the child. The upstream stage reaches the pool through an internal
URL (:func:`stdio_url`) on a host name that cannot resolve, which the upstream client sends
over the stdio host's unix socket instead of the network.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.snapshot import Sealed, StdioEntry
from shared.snapshot.canonical import canonical_bytes
from shared.stdio_env import child_environment

STDIO_ORIGIN = "http://stdio.mcpgw.invalid"
"""Scheme and host of every stdio upstream URL (``.invalid`` never resolves: RFC 6761)."""

_FINGERPRINT_KEY = os.urandom(32)
"""Keys the launch fingerprint: it covers secret env values and need only be stable in this process."""


@dataclass(frozen=True, slots=True)
class StdioLaunch:
    """One stdio server's command, environment and pool bounds."""

    command: str
    args: tuple[str, ...]
    environment: dict[str, str] = field(repr=False)
    """The child's whole environment, secrets unsealed: never logged (``repr=False``)."""
    cwd: str | None
    min_processes: int
    max_processes: int
    idle_timeout_seconds: float
    fingerprint: str = field(repr=False)
    """Digest of everything above: a changed launch is a new pool (processes are not reused)."""


def compile_launch(entry: StdioEntry, open_secret: Callable[[str, Sealed], str]) -> StdioLaunch:
    """The launch of ``entry``; ``open_secret(what, sealed)`` unseals one env value (or raises)."""
    configured = {name: open_secret(f"env {name!r}", sealed) for name, sealed in entry.env.items()}
    environment = child_environment(configured)
    digest = hashlib.blake2b(
        canonical_bytes(
            [
                entry.command,
                entry.args,
                environment,
                entry.cwd,
                entry.min_processes,
                entry.max_processes,
                entry.idle_timeout_seconds,
            ]
        ),
        key=_FINGERPRINT_KEY,
        digest_size=16,
    ).hexdigest()
    return StdioLaunch(
        command=entry.command,
        args=tuple(entry.args),
        environment=environment,
        cwd=entry.cwd or None,
        min_processes=entry.min_processes,
        max_processes=entry.max_processes,
        idle_timeout_seconds=entry.idle_timeout_seconds,
        fingerprint=digest,
    )


def stdio_url(slug: str, launch: StdioLaunch) -> str:
    """The internal URL the upstream stage calls for ``slug`` (its pool: slug and fingerprint)."""
    return f"{STDIO_ORIGIN}/{slug}/{launch.fingerprint}/mcp"

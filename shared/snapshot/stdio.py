"""Snapshot model of a stdio upstream: the command a data plane launches and its process pool.

Part of the schema (``ServerEntry.stdio``). Environment values are :class:`Sealed` to the
data-plane group like header values, because that is where servers take their secrets
(``GITHUB_TOKEN=...``); the command, its arguments and the working directory travel in clear.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.snapshot.credentials import Sealed

ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
"""What an environment variable name may be (POSIX portable names)."""
MAX_PROCESSES_LIMIT = 64
"""The largest pool a server may ask for, per data plane."""


class StdioEntry(BaseModel):
    """How a data plane runs a stdio MCP server: what to launch and how many of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: str = Field(min_length=1, max_length=2000)
    """The executable (found on the child's ``PATH`` when it has no slash)."""
    args: list[str] = Field(default_factory=list)
    env: dict[str, Sealed] = Field(default_factory=dict)
    """The child's environment besides the minimal ``PATH``/``HOME``/``LANG``; values sealed."""
    cwd: str = ""
    """Working directory of the child; empty: the data plane's own."""
    min_processes: int = Field(default=0, ge=0, le=MAX_PROCESSES_LIMIT)
    """Processes kept started and ready even when idle."""
    max_processes: int = Field(default=4, ge=1, le=MAX_PROCESSES_LIMIT)
    """At most this many processes at once (shared ones and those bound to a session)."""
    idle_timeout_seconds: float = Field(default=300.0, gt=0, le=86_400)
    """A process unused this long is stopped (a session bound to it ends; above the minimum)."""

    @model_validator(mode="after")
    def _bounds(self) -> StdioEntry:
        if self.min_processes > self.max_processes:
            raise ValueError("min_processes must not exceed max_processes")
        return self

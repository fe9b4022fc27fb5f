"""The snapshot schema: the one description of everything a data plane needs.

A snapshot is immutable and self-contained. It is shaped for the data plane's hot path: every
lookup is a dict access (keys by hash, servers by slug, tools by server slug + name). The
control plane's compiler produces it; the data plane validates it with these same models
before it swaps it in, so both planes agree by construction.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
"""Bumped on any incompatible change; a data plane refuses a schema version it does not know."""

Transport = Literal["streamable-http"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sealed(_Frozen):
    """A secret sealed to the data-plane group's public key (compact JWE, ECDH-ES+A256KW)."""

    sealed: str


class ToolEntry(_Frozen):
    """A tool of an upstream server as discovered by the control plane."""

    description: str = ""
    annotations: dict[str, bool | str | None] = Field(default_factory=dict)
    definition_hash: str = ""


class ServerEntry(_Frozen):
    """An upstream MCP server reachable at ``/{slug}/mcp`` on the data plane."""

    id: str
    workspace: str
    transport: Transport = "streamable-http"
    url: str
    headers: dict[str, Sealed] = Field(default_factory=dict)
    """Static upstream headers (credentials), injected on every upstream request."""
    timeout_seconds: float = 60.0
    tools: dict[str, ToolEntry] = Field(default_factory=dict)


class KeyEntry(_Frozen):
    """An agent API key, indexed in the snapshot by the SHA-256 of its secret."""

    id: str
    name: str
    workspace: str
    expires_at: int | None = None
    """Unix seconds; the data plane refuses the key from then on."""
    servers: dict[str, list[str] | None]
    """Server slug -> tools the key may use there (``None`` means every tool)."""


class Snapshot(_Frozen):
    """One versioned, signed configuration for a data-plane group."""

    schema_version: int = SCHEMA_VERSION
    version: str
    """Monotonic on the control plane; data planes only compare versions, never parse them."""
    hash: str
    """SHA-256 of the canonical form of the content (everything but version, hash, created_at)."""
    group: str
    created_at: int
    workspaces: list[str] = Field(default_factory=list)
    servers: dict[str, ServerEntry] = Field(default_factory=dict)
    keys: dict[str, KeyEntry] = Field(default_factory=dict)

"""The snapshot's virtual servers: one endpoint aggregating several upstream servers.

A virtual server is served at ``/{slug}/mcp`` like a server (slugs of both share one namespace).
It carries no credential and no rule of its own: every item it shows or routes is an item of a
member server, used under that server's slug and the item's original name, with that server's
credentials and grants (see ``docs/access-control.md``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VirtualMember(_Frozen):
    """One member server of a virtual server and how its items are shown."""

    server: str
    """Slug of the member server (a server of the snapshot)."""
    prefix: str
    """Exposed names are ``{prefix}__{name}`` (``shared.composition.naming``)."""
    tools: list[str] | None = None
    """Only these tools of the member (original names); ``None``: all of them."""
    renames: dict[str, str] = Field(default_factory=dict)
    """Original tool name -> the name shown instead of the generated one."""
    descriptions: dict[str, str] = Field(default_factory=dict)
    """Original tool name -> the description shown instead of the upstream's."""


class VirtualServerEntry(_Frozen):
    """A virtual server reachable at ``/{slug}/mcp`` on the data plane."""

    id: str
    workspace: str
    name: str = ""
    """Shown to clients as the server's name (``initialize`` / ``server/discover``)."""
    instructions: str = ""
    members: list[VirtualMember] = Field(default_factory=list)

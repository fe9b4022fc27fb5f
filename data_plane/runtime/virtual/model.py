"""A virtual server compiled once per snapshot, and the member sessions its sealed token carries.

The client of a legacy-era session holds one sealed ``Mcp-Session-Id`` (``runtime/sessions.py``)
whose upstream session id is, for a virtual server, a compact JSON map
``{member server slug: [upstream session id, negotiated version]}``: one upstream session per
member, all in the one token, so any replica continues the session. A member missing from the
map (it was unreachable at ``initialize``) is joined for the length of one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from data_plane.runtime.compiled import Lookup, Upstream
from shared.composition import exposed_name, is_shortened, split_exposed
from shared.snapshot import VirtualServerEntry


@dataclass(frozen=True, slots=True)
class Member:
    """One member server of a virtual server."""

    server: str
    prefix: str
    upstream: Upstream
    tools: frozenset[str] | None
    """Only these tools (original names); ``None``: all."""
    renames: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)

    def shows_tool(self, name: str) -> bool:
        """Whether the virtual server shows this member's tool (its subset, before access)."""
        return self.tools is None or name in self.tools

    def tool_name(self, original: str) -> str:
        """The name a tool of this member has on the virtual server."""
        return self.renames.get(original) or exposed_name(self.prefix, original)


@dataclass(frozen=True, slots=True)
class VirtualServer:
    """A virtual server served at ``/{slug}/mcp``."""

    slug: str
    id: str
    workspace: str
    name: str
    instructions: str
    members: tuple[Member, ...]
    by_prefix: Mapping[str, Member]
    by_server: Mapping[str, Member]
    renamed: Mapping[str, tuple[Member, str]]
    """Admin-chosen name -> (member, original tool name)."""

    def resolve(self, kind: str, exposed: str) -> tuple[Member, str | None] | None:
        """(member, original name) of an exposed tool or prompt name; the original is ``None``
        when the name is a shortened one that only the member's list can tell; ``None`` when no
        member has that name."""
        if kind == "tool" and exposed in self.renamed:
            return self.renamed[exposed]
        parts = split_exposed(exposed)
        if parts is None:
            return None
        member = self.by_prefix.get(parts[0])
        if member is None:
            return None
        if is_shortened(exposed):
            return member, None
        return member, parts[1]


def compile_virtual(slug: str, entry: VirtualServerEntry, servers: Lookup[Upstream]) -> VirtualServer:
    """The runtime form of a snapshot entry (members are servers of the same snapshot)."""
    members = tuple(
        Member(
            server=m.server,
            prefix=m.prefix,
            upstream=servers[m.server],
            tools=None if m.tools is None else frozenset(m.tools),
            renames=dict(m.renames),
            descriptions=dict(m.descriptions),
        )
        for m in entry.members
        if m.server in servers
    )
    return VirtualServer(
        slug=slug,
        id=entry.id,
        workspace=entry.workspace,
        name=entry.name or slug,
        instructions=entry.instructions,
        members=members,
        by_prefix={m.prefix: m for m in members},
        by_server={m.server: m for m in members},
        renamed={new: (m, old) for m in members for old, new in m.renames.items()},
    )


MemberSessions = dict[str, tuple[str, str]]
"""Member server slug -> (its upstream session id, the version it negotiated)."""


def pack_sessions(sessions: MemberSessions) -> str:
    """The upstream session id sealed into a virtual server's client token."""
    return orjson.dumps({slug: list(pair) for slug, pair in sorted(sessions.items())}).decode()


def unpack_sessions(packed: str) -> MemberSessions | None:
    """The member sessions of a token; ``None`` when it is not a virtual server's."""
    try:
        raw = orjson.loads(packed)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    out: MemberSessions = {}
    for slug, pair in raw.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) for v in pair)):
            return None
        out[slug] = (pair[0], pair[1])
    return out

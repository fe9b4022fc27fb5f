"""Rows -> the snapshot's virtual servers (pure reads; no secrets: members carry their own)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, select

from control_plane.models import VirtualServer
from shared.composition import default_prefix
from shared.snapshot import VirtualMember, VirtualServerEntry


def compile_virtual_servers(
    session: Session, *, workspace_slugs: Mapping[str, str], server_slugs: Mapping[str, str]
) -> dict[str, VirtualServerEntry]:
    """Slug -> entry; ``server_slugs`` (id -> slug) are the snapshot's servers, and a member
    whose server is not among them is left out (the repos remove those; this is the belt)."""
    entries: dict[str, VirtualServerEntry] = {}
    for virtual in session.exec(select(VirtualServer).order_by(VirtualServer.slug)):
        members: list[VirtualMember] = []
        for member in virtual.members:
            slug = server_slugs.get(str(member.get("server_id")))
            if slug is None:
                continue
            members.append(
                VirtualMember(
                    server=slug,
                    prefix=member.get("prefix") or default_prefix(slug),
                    tools=member.get("tools"),
                    renames=member.get("renames") or {},
                    descriptions=member.get("descriptions") or {},
                )
            )
        entries[virtual.slug] = VirtualServerEntry(
            id=virtual.id,
            workspace=workspace_slugs.get(virtual.workspace_id, ""),
            name=virtual.name,
            instructions=virtual.instructions,
            members=members,
        )
    return entries

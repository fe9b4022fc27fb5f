"""Stdio servers as the compiler puts them into a snapshot: what to launch, env values sealed.

The command, its arguments, the working directory and the pool bounds travel in clear; each
env value is decrypted with the master key and sealed to the group (like header values), and
its digest stands in the stable copy that decides whether anything changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from joserfc.jwk import OKPKey
from sqlmodel import Session, select

from control_plane.crypto import SecretBox, SecretBoxError
from control_plane.models import Server
from shared import sealing
from shared.snapshot import Sealed, Snapshot, StdioEntry


class StdioCompileError(Exception):
    """A stdio server's stored env cannot be decrypted."""


def stdio_entry(server: Server) -> StdioEntry | None:
    """The launch of ``server`` without its env values (``None`` unless it is a stdio server)."""
    if server.transport != "stdio":
        return None
    return StdioEntry(
        command=server.command,
        args=list(server.args),
        cwd=server.cwd,
        min_processes=server.min_processes,
        max_processes=server.max_processes,
        idle_timeout_seconds=server.idle_timeout_seconds,
    )


def attach_env(
    session: Session,
    *,
    stable: Snapshot,
    sealed: Snapshot,
    secrets: SecretBox,
    group_key: Callable[[], OKPKey],
    digest: Callable[[str, str], str],
) -> tuple[Snapshot, Snapshot]:
    """``stable`` and ``sealed`` with each stdio server's env: digests, and sealed to the group key."""
    opened: dict[str, dict[str, str]] = {}
    query = select(Server).where(Server.transport == "stdio", Server.env_encrypted != "")
    for server in session.exec(query):
        try:
            env = json.loads(secrets.decrypt(server.env_encrypted))
        except (SecretBoxError, ValueError) as exc:
            raise StdioCompileError(f"env of stdio server {server.slug!r} cannot be decrypted") from exc
        opened[server.slug] = {str(name): str(value) for name, value in env.items()}
    if not opened:
        return stable, sealed
    key = group_key()

    def with_env(snapshot: Snapshot, value_of: Callable[[str, str], str]) -> Snapshot:
        servers = dict(snapshot.servers)
        for slug, env in opened.items():
            entry = servers.get(slug)
            if entry is None or entry.stdio is None:
                continue
            values = {name: Sealed(sealed=value_of(name, value)) for name, value in sorted(env.items())}
            servers[slug] = entry.model_copy(update={"stdio": entry.stdio.model_copy(update={"env": values})})
        return snapshot.model_copy(update={"servers": servers})

    return with_env(stable, digest), with_env(sealed, lambda _name, value: sealing.seal(value, key))

"""Config scale: build a big configuration, compile, sign, apply and serve it.

Rows go straight into a temp SQLite database with the control plane's own tables; the
snapshot is compiled with ``control_plane.compiler.compile_group`` and signed like the control
plane signs it; the data plane's ``SnapshotStore.prepare`` times the apply as a data plane does it
(in memory, or for a large snapshot a helper process writing tables).
Every server points at the fast upstream and every key secret is derived from its index, so a
real data plane booted from the exported file can serve requests with key 0.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from control_plane.compiler import compile_group
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.models import AgentKey, ConfigRevision, DataPlaneGroup, Grant, Server, Tool, Workspace
from data_plane.settings import DataPlaneSettings
from data_plane.snapshot.store import SnapshotStore
from shared import apikeys, keyfiles
from shared.snapshot import SnapshotRejected, sign_snapshot

TOOLS_PER_SERVER = 10
SERVERS_PER_WORKSPACE = 100
CHUNK = 5000
MASTER_KEY = b"b" * 32


@dataclass(frozen=True, slots=True)
class Scale:
    """How big a generated configuration is."""

    servers: int
    keys: int

    @property
    def tools(self) -> int:
        """Tools in total (``TOOLS_PER_SERVER`` per server)."""
        return self.servers * TOOLS_PER_SERVER

    @property
    def grants(self) -> int:
        """Access grants in total (one per key)."""
        return self.keys

    @property
    def label(self) -> str:
        """E.g. ``10000 servers / 100000 tools / 100000 keys / 100000 grants``."""
        return f"{self.servers} servers / {self.tools} tools / {self.keys} keys / {self.grants} grants"


def key_secret(index: int) -> str:
    """The secret of generated key ``index`` (deterministic, so the bench can use it)."""
    return f"{apikeys.PREFIX}bench{index:040d}"


def _rows(scale: Scale, upstream_url: str, secrets: SecretBox) -> dict[type, list[dict[str, Any]]]:
    now = datetime.now(UTC)
    workspaces = max(1, scale.servers // SERVERS_PER_WORKSPACE)
    ws = [{"id": f"ws{w}", "slug": f"ws-{w}", "name": "", "created_at": now} for w in range(workspaces)]
    headers = secrets.encrypt(json.dumps({"X-Api-Key": "upstream-secret"}))
    servers, tools, keys = [], [], []
    for s in range(scale.servers):
        servers.append(
            {
                "id": f"srv{s}",
                "slug": f"srv-{s}",
                "url": upstream_url,
                "transport": "streamable-http",
                "timeout_seconds": 60.0,
                "workspace_id": f"ws{s % workspaces}",
                "headers_encrypted": headers,
                "header_names": ["X-Api-Key"],
                "discovery_error": "",
                "discovered_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        for t in range(TOOLS_PER_SERVER):
            name = "echo" if t == 0 else f"tool-{t}"
            tools.append(
                {
                    "id": f"srv{s}t{t}",
                    "server_id": f"srv{s}",
                    "name": name,
                    "description": f"Tool {t} of server {s}, generated for the benchmark.",
                    "input_schema": {"type": "object"},
                    "annotations": {"readOnlyHint": True},
                    "definition_hash": f"{s:032x}{t:032x}",
                    "discovered_at": now,
                }
            )
    for k in range(scale.keys):
        own = k % scale.servers
        other = (own + workspaces) % scale.servers  # same workspace, another server
        secret = key_secret(k)
        keys.append(
            {
                "id": f"key{k}",
                "name": f"key-{k}",
                "expires_at": None,
                "workspace_id": f"ws{own % workspaces}",
                "key_hash": apikeys.hash_secret(secret),
                "prefix": apikeys.display_prefix(secret),
                "scope_servers": [f"srv-{own}"],
                "scope_tools": {f"srv-{other}": ["echo", "tool-1"]},
                "created_at": now,
                "revoked_at": None,
            }
        )
    grants = [
        {
            # Each key is also granted two tools of a third server of its workspace, so the
            # authorize stage of a request probes a snapshot holding ``scale.grants`` grants.
            "id": f"grant{g}",
            "workspace_id": f"ws{(g % scale.servers) % workspaces}",
            "name": f"grant-{g}",
            "server_id": f"srv{(g % scale.servers + 2 * workspaces) % scale.servers}",
            "subject_kind": "agent",
            "subject_id": f"key{g}",
            "effect": "allow",
            "tools": {"include": ["echo", "tool-2"]},
            "annotations": {},
            "prompts": {},
            "resources": {},
            "conditions": [],
            "created_at": now,
        }
        for g in range(scale.grants)
    ]
    return {Workspace: ws, Server: servers, Tool: tools, AgentKey: keys, Grant: grants}


@dataclass(frozen=True, slots=True)
class Built:
    """A compiled, signed snapshot on disk and the files a data plane needs to boot from it."""

    snapshot_file: Path
    verify_key_file: Path
    group_key_file: Path
    figures: dict[str, Any]


def build(scale: Scale, workdir: Path, upstream_url: str) -> Built:
    """Insert ``scale`` rows, compile, sign and apply (timed); write the snapshot and keys."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{workdir / 'cp.db'}")
    db.migrate()
    secrets = SecretBox(MASTER_KEY)
    signing_key = keyfiles.generate("Ed25519")
    group_key = keyfiles.generate("X25519")
    t0 = time.perf_counter()
    with db.transaction() as session:
        for model, rows in _rows(scale, upstream_url, secrets).items():
            table = model.__table__  # type: ignore[attr-defined]
            for i in range(0, len(rows), CHUNK):
                session.execute(insert(table), rows[i : i + CHUNK])
        group = DataPlaneGroup(name="default", public_key=keyfiles.public_jwk(group_key))
        session.add(group)
        session.add(ConfigRevision(reason="bench"))
    insert_s = time.perf_counter() - t0
    with db.session() as session:
        t0 = time.perf_counter()
        compiled = compile_group(session, group=group, secrets=secrets, now=datetime.now(UTC))
        compile_s = time.perf_counter() - t0
    db.dispose()
    t0 = time.perf_counter()
    jws = sign_snapshot(compiled.snapshot, signing_key)
    sign_s = time.perf_counter() - t0
    store = SnapshotStore(
        verify_key=keyfiles.from_jwk(keyfiles.public_jwk(signing_key)),
        group_key=group_key,
        group="default",
        last_good_file=None,
        # As a data plane applies it: in memory, or (large) through the helper and tables.
        tables_dir=workdir / "dp-tables",
        large_snapshot_bytes=DataPlaneSettings().large_snapshot_bytes,
    )
    t0 = time.perf_counter()
    try:
        store.prepare(jws)
        refused = ""
    except SnapshotRejected as exc:
        refused = exc.reason
    apply_s = time.perf_counter() - t0
    built = Built(workdir / "snapshot.jws", workdir / "verify.pub.jwk", workdir / "group.jwk", {})
    built.snapshot_file.write_text(jws)
    built.verify_key_file.write_text(json.dumps(keyfiles.public_jwk(signing_key)))
    keyfiles.write_private(built.group_key_file, group_key)
    built.figures.update(
        {
            "scale": scale.label,
            "servers": scale.servers,
            "tools": scale.tools,
            "keys": scale.keys,
            "grants": scale.grants,
            "insert_s": round(insert_s, 3),
            "compile_s": round(compile_s, 3),
            "sign_s": round(sign_s, 3),
            "snapshot_bytes": len(jws.encode()),
            "dp_apply_s": round(apply_s, 3),
            "unpatched_dp_refuses": refused,
        }
    )
    return built

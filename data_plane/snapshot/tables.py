"""A verified snapshot's large sections in a SQLite file, read one entry at a time.

Keys, servers (with their tool annotations) and grants grow with the organization: 100,000 keys
and grants take hundreds of MB as Python objects, most of them never used between two snapshots.
A large snapshot is therefore written, once it is verified, into a read-only SQLite file in the
data plane's state directory; the serving process reads an entry when a request first needs it
and keeps a bounded number compiled (``runtime.compiled.LazyIndex``). Kong's data planes keep
their declarative config in LMDB for the same reason. The small sections (identity providers,
users, teams, webhooks, virtual servers, the identity key) stay in memory as a :class:`Snapshot` without servers,
keys or grants (:meth:`TableSource.rest`).

The file holds what the signed snapshot holds, sealed values still sealed; it is written only
from a snapshot whose signature, hash and schema were checked, and it is never read at boot
(the last good JWS is verified again instead).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import orjson
from pydantic import TypeAdapter

from shared.access import Grant
from shared.access.evaluate import Annotations
from shared.snapshot import KeyEntry, ServerEntry, Snapshot
from shared.snapshot.virtual import VirtualServerEntry

_VIRTUAL = TypeAdapter(dict[str, VirtualServerEntry])

_SCHEMA = """
CREATE TABLE keys (hash TEXT PRIMARY KEY, entry BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE servers (slug TEXT PRIMARY KEY, entry BLOB NOT NULL, tools BLOB NOT NULL,
                      hosted INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE grants (server TEXT NOT NULL, position INTEGER NOT NULL, entry BLOB NOT NULL,
                     PRIMARY KEY (server, position)) WITHOUT ROWID;
CREATE TABLE rest (id INTEGER PRIMARY KEY CHECK (id = 1), snapshot BLOB NOT NULL,
                   virtual_servers BLOB NOT NULL);
"""


def write_tables(snapshot: Snapshot, path: Path) -> None:
    """Write ``snapshot`` to a new SQLite file at ``path`` (which must not exist)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(_SCHEMA)
        with conn:
            conn.executemany(
                "INSERT INTO keys VALUES (?, ?)",
                ((h, orjson.dumps(entry.model_dump(mode="json"))) for h, entry in snapshot.keys.items()),
            )
            conn.executemany(
                "INSERT INTO servers VALUES (?, ?, ?, ?)",
                (
                    (
                        slug,
                        orjson.dumps(entry.model_dump(mode="json", exclude={"tools"})),
                        orjson.dumps({name: tool.annotations for name, tool in entry.tools.items()}),
                        entry.stdio is not None or entry.transport == "sse",
                    )
                    for slug, entry in snapshot.servers.items()
                ),
            )
            conn.executemany(
                "INSERT INTO grants VALUES (?, ?, ?)",
                (
                    (grant.server, position, orjson.dumps(grant.model_dump(mode="json")))
                    for position, grant in enumerate(snapshot.access.grants)
                ),
            )
            # Virtual servers go apart: the snapshot's check that their members exist needs the
            # servers, which the rest leaves out (they were checked when the JWS was verified).
            rest = snapshot.model_copy(
                update={
                    "servers": {},
                    "keys": {},
                    "access": snapshot.access.model_copy(update={"grants": []}),
                    "virtual_servers": {},
                }
            )
            conn.execute(
                "INSERT INTO rest VALUES (1, ?, ?)",
                (
                    orjson.dumps(rest.model_dump(mode="json")),
                    _VIRTUAL.dump_json(snapshot.virtual_servers),
                ),
            )
    finally:
        conn.close()


class TableSource:
    """Reads a file written by :func:`write_tables`; serves as the access index's rules."""

    __slots__ = ("_conn", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        # Read-only and immutable: no locks, no journal; the serving loop is the only reader.
        self._conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._conn.execute("PRAGMA cache_size = -2048")  # KiB: a small page cache per process

    def close(self) -> None:
        """Close the file (entries already compiled stay usable)."""
        self._conn.close()

    def rest(self) -> Snapshot:
        """The snapshot without servers, keys and grants."""
        blob, virtual = self._conn.execute(
            "SELECT snapshot, virtual_servers FROM rest WHERE id = 1"
        ).fetchone()
        rest = Snapshot.model_validate_json(blob)
        return rest.model_copy(update={"virtual_servers": _VIRTUAL.validate_json(virtual)})

    def key(self, key_hash: str) -> KeyEntry | None:
        """The key whose secret hashes to ``key_hash``."""
        row = self._conn.execute("SELECT entry FROM keys WHERE hash = ?", (key_hash,)).fetchone()
        return KeyEntry.model_validate_json(row[0]) if row is not None else None

    def server(self, slug: str) -> ServerEntry | None:
        """The server ``slug``, without its tools (see :meth:`tools`)."""
        row = self._conn.execute("SELECT entry FROM servers WHERE slug = ?", (slug,)).fetchone()
        return ServerEntry.model_validate_json(row[0]) if row is not None else None

    def hosted_slugs(self) -> list[str]:
        """Slugs of the stdio and SSE servers (their pools start at once, not on first use)."""
        return [slug for (slug,) in self._conn.execute("SELECT slug FROM servers WHERE hosted ORDER BY slug")]

    def grants(self, server: str) -> Sequence[Grant]:
        """The grants of ``server`` in snapshot order."""
        rows = self._conn.execute(
            "SELECT entry FROM grants WHERE server = ? ORDER BY position", (server,)
        ).fetchall()
        return [Grant.model_validate_json(entry) for (entry,) in rows]

    def tools(self, server: str) -> Mapping[str, Annotations]:
        """Tool name -> annotations of ``server``."""
        row = self._conn.execute("SELECT tools FROM servers WHERE slug = ?", (server,)).fetchone()
        if row is None:
            return {}
        tools: dict[str, Annotations] = orjson.loads(row[0])
        return tools

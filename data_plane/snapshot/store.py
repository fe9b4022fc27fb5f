"""The snapshot store: verify -> compile -> atomic swap -> persist, and boot from disk or file.

The store holds one reference to the current :class:`CompiledSnapshot`; request handlers read
it once per request, so a swap never tears a request. A refused snapshot leaves both the
serving snapshot and the last-good file untouched.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from joserfc.jwk import OKPKey

from data_plane.runtime.compiled import CompiledSnapshot
from data_plane.snapshot.build import Checks, compile_in_helper, compile_in_memory
from data_plane.snapshot.files import write_atomic
from shared.snapshot import SnapshotRejected

logger = logging.getLogger(__name__)

Source = Literal["control-plane", "disk", "file"]


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of applying a snapshot that was accepted."""

    version: str
    hash: str
    changed: bool
    """False when the store already held this exact version and hash (nothing re-applied)."""


class SnapshotStore:
    """Holds the serving snapshot; the only way config changes at run time."""

    def __init__(
        self,
        *,
        verify_key: OKPKey | None,
        group_key: OKPKey | None,
        group: str,
        last_good_file: Path | None,
        connect_timeout: float = 5.0,
        allow_stdio: bool = False,
        tables_dir: Path | None = None,
        large_snapshot_bytes: int = 0,
        cache_entries: int = 10_000,
    ) -> None:
        """``tables_dir``: where large snapshots' tables go (``None`` or ``large_snapshot_bytes``
        0: every snapshot is held in memory). Files left there by an earlier run are removed."""
        self._verify_key = verify_key
        self._group_key = group_key
        self._group = group
        self._last_good_file = last_good_file
        self._connect_timeout = connect_timeout
        self._allow_stdio = allow_stdio
        self._tables_dir = tables_dir if large_snapshot_bytes > 0 else None
        self._large_snapshot_bytes = large_snapshot_bytes
        self._cache_entries = cache_entries
        if self._tables_dir is not None:
            self._tables_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            for stale in self._tables_dir.iterdir():
                stale.unlink(missing_ok=True)
        self._listeners: list[Callable[[CompiledSnapshot], None]] = []
        self._lock = asyncio.Lock()
        self.current: CompiledSnapshot | None = None
        """The serving snapshot (``None`` until one is verified): read it once per request."""
        self.source: Source | None = None

    @property
    def version(self) -> str:
        """The serving version, empty when none."""
        return self.current.version if self.current is not None else ""

    @property
    def hash(self) -> str:
        """The serving hash, empty when none."""
        return self.current.hash if self.current is not None else ""

    def prepare(self, jws: str) -> CompiledSnapshot:
        """Verify and compile without touching the store (CPU-bound: runs in a thread).

        A snapshot of at least ``large_snapshot_bytes`` goes to a helper process and tables on
        disk (``snapshot/build.py``), so its parse never swells this process.
        """
        if self._verify_key is None:
            raise SnapshotRejected("no verify key configured on this data plane")
        checks = Checks(
            verify_key=self._verify_key,
            group_key=self._group_key,
            group=self._group,
            connect_timeout=self._connect_timeout,
            allow_stdio=self._allow_stdio,
        )
        if self._tables_dir is not None and len(jws) >= self._large_snapshot_bytes:
            out = self._tables_dir / f"{uuid.uuid4().hex}.sqlite"
            return compile_in_helper(jws, checks, out, cache_entries=self._cache_entries)
        return compile_in_memory(jws, checks)

    def on_swap(self, listener: Callable[[CompiledSnapshot], None]) -> None:
        """Call ``listener`` with every snapshot swapped in (the stdio host follows its servers)."""
        self._listeners.append(listener)

    async def apply(
        self, jws: str, *, version: str = "", hash: str = "", source: Source = "control-plane"
    ) -> Applied:
        """Verify, compile, swap in and persist ``jws``; raises :class:`SnapshotRejected`.

        ``version``/``hash`` are the envelope's claims, used only to skip re-applying what the
        store already serves; the signed payload is authoritative.
        """
        async with self._lock:
            current = self.current
            if current is not None and version and (version, hash) == (current.version, current.hash):
                if source == "control-plane":
                    self.source = source
                return Applied(current.version, current.hash, changed=False)
            compiled = await asyncio.to_thread(self.prepare, jws)
            retired, self.current = current, compiled
            if retired is not None and retired.tables is not None:
                # Requests still holding the old snapshot keep reading the open file.
                retired.tables.unlink(missing_ok=True)
            self.source = source
            for listener in self._listeners:
                listener(compiled)
            if source == "control-plane" and self._last_good_file is not None:
                await asyncio.to_thread(self._persist, jws)
            logger.info("snapshot %s (%s) applied from %s", compiled.version, compiled.hash[:12], source)
            return Applied(compiled.version, compiled.hash, changed=True)

    def _persist(self, jws: str) -> None:
        assert self._last_good_file is not None
        try:
            write_atomic(self._last_good_file, jws.encode())
        except OSError:
            # Still serving the new snapshot; only the restart-without-control-plane case suffers.
            logger.exception("could not persist the last good snapshot to %s", self._last_good_file)

    async def load_file(self, path: Path, *, source: Source) -> bool:
        """Boot from a signed snapshot file (last good or exported); False when absent or refused."""
        try:
            jws = (await asyncio.to_thread(path.read_text)).strip()
        except FileNotFoundError:
            return False
        except OSError as exc:
            logger.warning("cannot read snapshot file %s: %s", path, exc)
            return False
        try:
            await self.apply(jws, source=source)
        except SnapshotRejected as exc:
            logger.error("refused snapshot file %s: %s", path, exc.reason)
            return False
        return True

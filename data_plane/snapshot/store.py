"""The snapshot store: verify -> compile -> atomic swap -> persist, and boot from disk or file.

The store holds one reference to the current :class:`CompiledSnapshot`; request handlers read
it once per request, so a swap never tears a request. A refused snapshot leaves both the
serving snapshot and the last-good file untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from joserfc.jwk import OKPKey

from data_plane.runtime.compiled import CompiledSnapshot
from data_plane.snapshot.compile import compile_snapshot
from data_plane.snapshot.files import write_atomic
from shared.snapshot import SnapshotRejected, verify_snapshot

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
    ) -> None:
        self._verify_key = verify_key
        self._group_key = group_key
        self._group = group
        self._last_good_file = last_good_file
        self._connect_timeout = connect_timeout
        self._allow_stdio = allow_stdio
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
        """Verify and compile without touching the store (CPU-bound: runs in a thread)."""
        if self._verify_key is None:
            raise SnapshotRejected("no verify key configured on this data plane")
        snapshot = verify_snapshot(jws, self._verify_key)
        if snapshot.group != self._group:
            raise SnapshotRejected(
                f"snapshot is for group {snapshot.group!r}, this data plane is in {self._group!r}"
            )
        return compile_snapshot(
            snapshot,
            self._group_key,
            connect_timeout=self._connect_timeout,
            allow_stdio=self._allow_stdio,
        )

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
            self.current = compiled
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

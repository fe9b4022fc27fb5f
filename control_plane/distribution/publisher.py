"""The publisher: the current signed snapshot of every data-plane group, recompiled on change.

Changes are noticed two ways: ``Database.on_config_change`` (a commit in this process) and a
poll of the newest revision id (a commit by another control-plane replica). Like Kong, the first
change is compiled at once and further changes within ``debounce_seconds`` of a compile are
batched into one more compile at the end of that window. Compiles run in a worker thread with a
fresh session. A group whose stable content key is unchanged keeps its snapshot, so an unchanged
database never produces a push (see ``control_plane.compiler.snapshot``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from joserfc.jwk import OKPKey
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from control_plane.compiler import CompiledSnapshot, CompileError, compile_group
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.distribution.inflight import InflightWork
from control_plane.models.common import utcnow
from control_plane.repos import dataplanes, revisions
from shared.snapshot import sign_snapshot
from shared.wire.mcpgw.config.v1 import config_pb2

logger = logging.getLogger(__name__)

_CONSISTENT_READ_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class _Published:
    signed: config_pb2.SignedSnapshot
    content_key: str


@dataclass(frozen=True, slots=True)
class _Compiled:
    revision: int
    groups: frozenset[str]
    """Every group that exists (also those that failed to compile and keep their snapshot)."""
    changed: dict[str, _Published]
    """Groups whose stable content changed, freshly signed."""


class Publisher:
    """Holds the current ``SignedSnapshot`` per group and wakes waiters when one changes."""

    def __init__(
        self,
        *,
        database: Database,
        secrets: SecretBox,
        signing_key: OKPKey,
        debounce_seconds: float,
        poll_seconds: float,
        inflight: InflightWork,
    ) -> None:
        self._database = database
        self._inflight = inflight
        self._secrets = secrets
        self._signing_key = signing_key
        self._debounce = max(debounce_seconds, 0.0)
        self._poll = max(poll_seconds, 0.01)
        self._current: dict[str, _Published] = {}
        self._revision: int | None = None
        self._changed = asyncio.Condition()
        self._wake = asyncio.Event()
        self._refresh_lock = asyncio.Lock()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def current(self, group: str) -> config_pb2.SignedSnapshot | None:
        """The snapshot data planes of ``group`` should run now, or ``None``."""
        published = self._current.get(group)
        return published.signed if published is not None else None

    async def start(self) -> None:
        """Compile every group now, subscribe to config changes and start the watch loop."""
        self._loop = asyncio.get_running_loop()
        self._database.on_config_change(self.notify)
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="snapshot-publisher")
        self._task.add_done_callback(_report_crash)

    async def stop(self) -> None:
        """Stop watching; every waiter returns ``None``."""
        self._closed = True
        async with self._changed:
            self._changed.notify_all()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                # Ours to swallow only when the caller itself is not being cancelled.
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
            self._task = None

    def notify(self) -> None:
        """Config changed (called from any thread, typically the committing one)."""
        loop = self._loop
        if self._closed or loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:
            # The loop closed between the check and the call: nobody is left to publish to.
            logger.debug("config change after the publisher's loop closed; ignored")

    @property
    def closed(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._closed

    async def wait_changed(
        self, group: str, seen: config_pb2.SignedSnapshot | None
    ) -> config_pb2.SignedSnapshot | None:
        """Wait until the group's snapshot is not ``seen`` (or the publisher stopped); return it.

        ``None`` means the group was deleted or the publisher stopped (see :attr:`closed`).
        """
        async with self._changed:
            await self._changed.wait_for(lambda: self._closed or self.current(group) is not seen)
        return self.current(group)

    async def refresh(self, *, force: bool = False) -> list[str]:
        """Recompile when the revision moved (or ``force``); returns the groups whose snapshot changed."""
        async with self._refresh_lock:
            known = {name: published.content_key for name, published in self._current.items()}
            revision = None if force else self._revision
            compiled = await self._inflight.run(partial(self._compile, revision, known, utcnow()))
            if compiled is None:
                return []
            return await self._publish(compiled)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_change = float("-inf")
        while not self._closed:
            try:
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()
            except TimeoutError:
                pass  # the poll: another replica may have recorded a revision
            woke = self._wake.is_set()
            remaining = last_change + self._debounce - loop.time()
            if woke and remaining > 0:
                await asyncio.sleep(remaining)  # the debounce window: batch what else arrives in it
            self._wake.clear()
            try:
                # A local commit always recompiles: on PostgreSQL revision ids are allocated
                # before commit, so a commit may land without moving the newest id.
                await self.refresh(force=woke)
            except SQLAlchemyError:
                logger.exception("reading the configuration failed; keeping the current snapshots")
            if woke:
                last_change = loop.time()

    def _compile(self, known_revision: int | None, known: dict[str, str], now: datetime) -> _Compiled | None:
        """Worker thread: compile every group and sign those whose content changed.

        Returns ``None`` when the newest revision is still ``known_revision``.
        """
        for _attempt in range(_CONSISTENT_READ_ATTEMPTS):
            with self._database.session() as session:
                _snapshot_isolation(session)
                revision = revisions.latest(session) or 0
                if known_revision is not None and revision == known_revision:
                    return None
                groups = dataplanes.list_groups(session)
                results: dict[str, CompiledSnapshot] = {}
                for group in groups:
                    try:
                        results[group.name] = compile_group(
                            session, group=group, secrets=self._secrets, now=now
                        )
                    except CompileError as exc:
                        logger.error("cannot compile the snapshot of group %s: %s", group.name, exc)
                # Belt and braces: should a driver read outside one snapshot after all, rows newer
                # than the version read first would be labelled with it; then read again.
                if (revisions.latest(session) or 0) == revision:
                    break
        changed = {
            name: _Published(signed=self._sign(result), content_key=result.content_key)
            for name, result in results.items()
            if known.get(name) != result.content_key
        }
        return _Compiled(revision=revision, groups=frozenset(g.name for g in groups), changed=changed)

    def _sign(self, result: CompiledSnapshot) -> config_pb2.SignedSnapshot:
        snapshot = result.snapshot
        return config_pb2.SignedSnapshot(
            version=snapshot.version,
            hash=snapshot.hash,
            schema_version=snapshot.schema_version,
            jws=sign_snapshot(snapshot, self._signing_key),
        )

    async def _publish(self, compiled: _Compiled) -> list[str]:
        self._revision = compiled.revision
        self._current.update(compiled.changed)
        for name, published in compiled.changed.items():
            logger.info(
                "group %s: snapshot version %s (hash %s)",
                name,
                published.signed.version,
                published.signed.hash[:12],
            )
        gone = [name for name in self._current if name not in compiled.groups]
        for name in gone:
            del self._current[name]
        changed = [*compiled.changed, *gone]
        if changed:
            async with self._changed:
                self._changed.notify_all()
        return changed


def _snapshot_isolation(session: Session) -> None:
    """Make every read of ``session`` see one snapshot, so the version matches the rows read after it.

    PostgreSQL: REPEATABLE READ. SQLite: the stdlib driver opens no transaction for reads, so
    each SELECT would see the newest commit; an explicit deferred BEGIN holds one WAL snapshot
    until the session closes (and rolls back).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif dialect == "sqlite":
        connection = session.connection()
        if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN")


def _report_crash(task: asyncio.Task[None]) -> None:
    """Make a publisher that died visible: without it no data plane gets new config."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error("the snapshot publisher stopped: %r", exc, exc_info=exc)

"""The ``ConfigDistribution`` gRPC servicer: one bidirectional ``Sync`` stream per data plane.

Per stream: the first message must be ``Hello``; the data plane's status row is upserted; the
group's current snapshot is sent at once (unless the data plane already runs exactly that
version and hash) and every newer one after it. ``Ack`` and ``Nack`` update the status row.

A NACKed version is never resent to that data plane: it is *parked* until the group's version
changes, also across reconnects (the status row remembers the NACKed version). This is the
resend-forever bug of envoyproxy/go-control-plane#962 that we avoid.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import grpc
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from control_plane.db import Database
from control_plane.distribution.inflight import InflightWork
from control_plane.distribution.publisher import Publisher
from control_plane.models import DataPlane
from control_plane.repos import dataplanes
from shared.wire.mcpgw.config.v1 import config_pb2, config_pb2_grpc

logger = logging.getLogger(__name__)

HELLO_TIMEOUT_SECONDS = 30.0
"""How long a new stream may stay silent before its ``Hello``."""

_T = TypeVar("_T")
_Context = grpc.aio.ServicerContext[config_pb2.SyncRequest, config_pb2.SignedSnapshot]


@dataclass(slots=True)
class _Stream:
    """What the control plane knows about the data plane at the other end of one stream."""

    node_id: str
    group: str
    applied: tuple[str, str]
    parked: str
    """The version this data plane NACKed and must not be sent again ("" when none)."""

    def wants(self, snapshot: config_pb2.SignedSnapshot) -> bool:
        if (snapshot.version, snapshot.hash) == self.applied:
            return False
        return snapshot.version != self.parked


class ConfigService(config_pb2_grpc.ConfigDistributionServicer):  # type: ignore[misc]
    """Pushes each group's signed snapshots to its data planes and records their ACKs/NACKs."""

    def __init__(self, *, database: Database, publisher: Publisher, inflight: InflightWork) -> None:
        self._database = database
        self._inflight = inflight
        self._publisher = publisher
        self._generations = itertools.count(1)
        self._latest_stream: dict[str, int] = {}
        """node id -> generation of its newest stream (an older stream ending must not mark it offline)."""

    async def Sync(self, request_iterator: AsyncIterator[config_pb2.SyncRequest], context: _Context) -> None:
        """Serve one data plane until it disconnects or the control plane stops."""
        requests = aiter(request_iterator)
        hello = await self._hello(requests, context)
        try:
            row = await self._db(partial(_register, hello=hello))
        except SQLAlchemyError:
            logger.exception("recording the hello of data plane %s failed", hello.node_id)
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, "the control plane cannot record this data plane"
            )
        if row is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"data-plane group {hello.group!r} does not exist; create it on the control plane first",
            )
        stream = _Stream(
            node_id=hello.node_id,
            group=hello.group,
            applied=(hello.applied_version, hello.applied_hash),
            parked=row.nack_version,
        )
        generation = next(self._generations)
        self._latest_stream[stream.node_id] = generation
        logger.info("data plane %s (group %s) connected", stream.node_id, stream.group)
        try:
            await self._serve(stream, requests, context)
        finally:
            await self._disconnected(stream, generation)

    async def _hello(
        self, requests: AsyncIterator[config_pb2.SyncRequest], context: _Context
    ) -> config_pb2.Hello:
        try:
            async with asyncio.timeout(HELLO_TIMEOUT_SECONDS):
                first = await anext(requests)
        except (StopAsyncIteration, TimeoutError):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message of Sync must be a Hello")
        if first.WhichOneof("kind") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message of Sync must be a Hello")
        hello: config_pb2.Hello = first.hello
        if not hello.node_id or len(hello.node_id) > 128 or not hello.group or len(hello.group) > 64:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "Hello needs a node_id (<= 128 chars) and a group (<= 64 chars)",
            )
        return hello

    async def _serve(
        self, stream: _Stream, requests: AsyncIterator[config_pb2.SyncRequest], context: _Context
    ) -> None:
        reader = asyncio.create_task(self._read(stream, requests), name=f"sync-read-{stream.node_id}")
        writer = asyncio.create_task(self._write(stream, context), name=f"sync-write-{stream.node_id}")
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
        for task in done:
            task.result()  # re-raise what ended the stream, if it failed
        if writer in done and not self._publisher.closed:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"data-plane group {stream.group!r} was deleted")

    async def _write(self, stream: _Stream, context: _Context) -> None:
        """Send the current snapshot and every newer one; return when the group or publisher is gone."""
        seen = self._publisher.current(stream.group)
        if seen is not None and stream.wants(seen):
            await context.write(seen)
        while True:
            snapshot = await self._publisher.wait_changed(stream.group, seen)
            if snapshot is None or self._publisher.closed:
                return
            seen = snapshot
            if stream.wants(snapshot):
                await context.write(snapshot)

    async def _read(self, stream: _Stream, requests: AsyncIterator[config_pb2.SyncRequest]) -> None:
        """Apply ACKs and NACKs until the data plane closes its side."""
        node_id = stream.node_id
        async for request in requests:
            kind = request.WhichOneof("kind")
            if kind == "ack":
                ack = request.ack
                stream.applied = (ack.version, ack.hash)
                stream.parked = ""
                await self._record(
                    partial(dataplanes.record_ack, node_id=node_id, version=ack.version, hash=ack.hash)
                )
            elif kind == "nack":
                nack = request.nack
                stream.parked = nack.rejected_version
                logger.warning(
                    "data plane %s refused version %s (keeps %s): %s",
                    node_id,
                    nack.rejected_version,
                    nack.kept_version or "nothing",
                    nack.reason,
                )
                await self._record(
                    partial(
                        dataplanes.record_nack,
                        node_id=node_id,
                        version=nack.rejected_version,
                        reason=nack.reason,
                    )
                )
            else:
                await self._record(partial(dataplanes.touch, node_id=node_id))

    async def _disconnected(self, stream: _Stream, generation: int) -> None:
        if self._latest_stream.get(stream.node_id) != generation:
            return  # a newer stream of the same data plane owns its status now
        del self._latest_stream[stream.node_id]
        logger.info("data plane %s (group %s) disconnected", stream.node_id, stream.group)
        # Runs to the end even when the handler is being cancelled (the peer went away).
        await self._record(partial(dataplanes.mark_disconnected, node_id=stream.node_id))

    async def _record(self, write: Callable[[Session], None]) -> None:
        """A status write that must not end the stream when the database is briefly away."""
        try:
            await self._db(write)
        except SQLAlchemyError:
            logger.exception("updating the status row of a data plane failed")

    async def _db(self, work: Callable[[Session], _T]) -> _T:
        return await self._inflight.run(partial(self._in_transaction, work))

    def _in_transaction(self, work: Callable[[Session], _T]) -> _T:
        with self._database.transaction() as session:
            return work(session)


def _register(session: Session, *, hello: config_pb2.Hello) -> DataPlane | None:
    """Upsert the status row of the data plane saying ``hello``; ``None`` when its group is unknown."""
    if dataplanes.get_group(session, name=hello.group) is None:
        return None
    return dataplanes.upsert_data_plane(
        session,
        node_id=hello.node_id,
        group=hello.group,
        hostname=hello.hostname,
        software_version=hello.software_version,
        applied_version=hello.applied_version,
        applied_hash=hello.applied_hash,
    )

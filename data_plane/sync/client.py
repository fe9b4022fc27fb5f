"""The config sync client: dials the control plane and holds one ``ConfigDistribution.Sync`` stream.

Sends ``Hello``, applies each ``SignedSnapshot`` through the store and answers ``Ack`` or
``Nack`` (with the version it keeps serving). Reconnects with capped, jittered backoff.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass

import grpc

from data_plane.runtime.backoff import Backoff
from data_plane.runtime.grpc_options import CHANNEL_OPTIONS, STREAM_ERRORS
from data_plane.settings import SOFTWARE_VERSION
from data_plane.snapshot.store import SnapshotStore
from shared.snapshot import SCHEMA_VERSION, SnapshotRejected
from shared.wire.mcpgw.config.v1 import config_pb2, config_pb2_grpc

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class SyncStatus:
    """What ``/readyz`` reports about the control-plane connection (mutated by the client)."""

    connected: bool = False
    last_error: str = ""


class SyncClient:
    """Keeps the store in sync with the control plane until cancelled."""

    def __init__(
        self,
        *,
        target: str,
        store: SnapshotStore,
        status: SyncStatus,
        node_id: str,
        group: str,
        connect_timeout: float = 10.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._target = target
        self._store = store
        self._status = status
        self._node_id = node_id
        self._group = group
        self._connect_timeout = connect_timeout
        self._backoff = backoff or Backoff()

    async def run(self) -> None:
        """Connect, sync, and reconnect after every break, forever (cancel to stop)."""
        while True:
            try:
                await self._session()
                self._status.last_error = "stream closed by the control plane"
            except STREAM_ERRORS as exc:
                self._status.last_error = _describe(exc)
            finally:
                self._status.connected = False
            delay = self._backoff.next()
            logger.warning(
                "control plane %s: %s; retrying in %.1fs", self._target, self._status.last_error, delay
            )
            await asyncio.sleep(delay)

    def _hello(self) -> config_pb2.SyncRequest:
        return config_pb2.SyncRequest(
            hello=config_pb2.Hello(
                node_id=self._node_id,
                group=self._group,
                hostname=socket.gethostname(),
                software_version=SOFTWARE_VERSION,
                applied_version=self._store.version,
                applied_hash=self._store.hash,
            )
        )

    async def _session(self) -> None:
        async with grpc.aio.insecure_channel(self._target, options=CHANNEL_OPTIONS) as channel:
            async with asyncio.timeout(self._connect_timeout):
                await channel.channel_ready()
            call = config_pb2_grpc.ConfigDistributionStub(channel).Sync()
            await call.write(self._hello())
            self._status.connected = True
            self._status.last_error = ""
            self._backoff.reset()
            logger.info("connected to control plane %s as node %s", self._target, self._node_id)
            while True:
                message = await call.read()
                if not isinstance(message, config_pb2.SignedSnapshot):
                    return  # end of stream
                await call.write(await self.answer(message))

    async def answer(self, message: config_pb2.SignedSnapshot) -> config_pb2.SyncRequest:
        """Apply one received snapshot; the Ack or Nack to send back."""
        try:
            if message.schema_version != SCHEMA_VERSION:
                raise SnapshotRejected(
                    f"unsupported schema_version {message.schema_version} (this data plane knows {SCHEMA_VERSION})"
                )
            applied = await self._store.apply(message.jws, version=message.version, hash=message.hash)
        except SnapshotRejected as exc:
            logger.error(
                "refused snapshot %s: %s (keeping %r)", message.version, exc.reason, self._store.version
            )
            return config_pb2.SyncRequest(
                nack=config_pb2.Nack(
                    rejected_version=message.version, kept_version=self._store.version, reason=exc.reason
                )
            )
        return config_pb2.SyncRequest(ack=config_pb2.Ack(version=applied.version, hash=applied.hash))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    if isinstance(exc, TimeoutError):
        return "unreachable (connect timed out)"
    return f"{type(exc).__name__}: {exc}"

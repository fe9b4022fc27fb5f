"""Real gRPC clients of the control plane's distribution server, as a data plane uses them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType

import grpc

from shared.wire.mcpgw.audit.v1 import audit_pb2, audit_pb2_grpc
from shared.wire.mcpgw.config.v1 import config_pb2, config_pb2_grpc

WAIT_SECONDS = 5.0


class SyncClient:
    """One ``ConfigDistribution.Sync`` stream, driven message by message."""

    def __init__(self, port: int) -> None:
        self._channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.call = config_pb2_grpc.ConfigDistributionStub(self._channel).Sync()

    async def __aenter__(self) -> SyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def hello(
        self,
        *,
        node_id: str = "dp-1",
        group: str = "default",
        applied_version: str = "",
        applied_hash: str = "",
    ) -> None:
        hello = config_pb2.Hello(
            node_id=node_id,
            group=group,
            hostname="test-host",
            software_version="0.1.0",
            applied_version=applied_version,
            applied_hash=applied_hash,
        )
        await self.call.write(config_pb2.SyncRequest(hello=hello))

    async def ack(self, snapshot: config_pb2.SignedSnapshot) -> None:
        await self.call.write(
            config_pb2.SyncRequest(ack=config_pb2.Ack(version=snapshot.version, hash=snapshot.hash))
        )

    async def nack(self, snapshot: config_pb2.SignedSnapshot, *, kept: str, reason: str) -> None:
        nack = config_pb2.Nack(rejected_version=snapshot.version, kept_version=kept, reason=reason)
        await self.call.write(config_pb2.SyncRequest(nack=nack))

    async def receive(self) -> config_pb2.SignedSnapshot:
        """The next snapshot the control plane sends (bounded wait)."""
        async with asyncio.timeout(WAIT_SECONDS):
            message = await self.call.read()
        assert message is not grpc.aio.EOF, "the control plane ended the stream"
        assert isinstance(message, config_pb2.SignedSnapshot)
        return message

    async def status(self) -> grpc.StatusCode:
        """How the control plane ended the stream (bounded wait)."""
        async with asyncio.timeout(WAIT_SECONDS):
            code: grpc.StatusCode = await self.call.code()
        return code

    async def close(self) -> None:
        self.call.cancel()
        await self._channel.close()


class ReportClient:
    """One ``AuditIngest.Report`` stream."""

    def __init__(self, port: int) -> None:
        self._channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.call = audit_pb2_grpc.AuditIngestStub(self._channel).Report()

    async def __aenter__(self) -> ReportClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.call.cancel()
        await self._channel.close()

    async def report(self, batch: audit_pb2.AuditBatch) -> audit_pb2.AuditBatchAck:
        """Send one batch and wait (bounded) for its acknowledgement."""
        await self.call.write(batch)
        async with asyncio.timeout(WAIT_SECONDS):
            ack = await self.call.read()
        assert isinstance(ack, audit_pb2.AuditBatchAck)
        return ack


async def eventually(
    check: Callable[[], Awaitable[bool]], *, what: str, seconds: float = WAIT_SECONDS
) -> None:
    """Poll ``check`` until it holds, failing after ``seconds`` (the state lives in the database)."""
    try:
        async with asyncio.timeout(seconds):
            while not await check():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None

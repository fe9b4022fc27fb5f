"""The sync client against a tiny in-test control plane (a grpc.aio ConfigDistribution servicer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from data_plane.runtime.backoff import Backoff
from data_plane.snapshot.store import SnapshotStore
from data_plane.sync.client import SyncClient, SyncStatus
from shared.snapshot import SCHEMA_VERSION
from shared.wire.mcpgw.config.v1 import config_pb2, config_pb2_grpc
from tests.data_plane.kit import KeyPair, make_snapshot, sign


class FakeControlPlane(config_pb2_grpc.ConfigDistributionServicer):
    """Sends what the test queues (``None`` ends the stream) and records what the client says."""

    def __init__(self) -> None:
        self.outbox: asyncio.Queue[config_pb2.SignedSnapshot | None] = asyncio.Queue()
        self.inbox: asyncio.Queue[config_pb2.SyncRequest] = asyncio.Queue()

    async def Sync(
        self, request_iterator: AsyncIterator[config_pb2.SyncRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[config_pb2.SignedSnapshot]:
        async def pump() -> None:
            async for request in request_iterator:
                await self.inbox.put(request)

        reader = asyncio.create_task(pump())
        try:
            while (message := await self.outbox.get()) is not None:
                yield message
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


@pytest.fixture
async def control_plane() -> AsyncIterator[tuple[FakeControlPlane, str]]:
    servicer = FakeControlPlane()
    server = grpc.aio.server()
    config_pb2_grpc.add_ConfigDistributionServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


def envelope(jws: str, version: str, hash: str) -> config_pb2.SignedSnapshot:
    return config_pb2.SignedSnapshot(version=version, hash=hash, schema_version=SCHEMA_VERSION, jws=jws)


async def next_message(cp: FakeControlPlane) -> config_pb2.SyncRequest:
    async with asyncio.timeout(5):
        return await cp.inbox.get()


async def test_client_acks_a_good_snapshot_nacks_a_wrongly_signed_one_and_reconnects(
    control_plane: tuple[FakeControlPlane, str], keys: KeyPair, tmp_path: Path
) -> None:
    cp, target = control_plane
    store = SnapshotStore(
        verify_key=keys.verify,
        group_key=keys.group,
        group="default",
        last_good_file=tmp_path / "last-good.jws",
    )
    status = SyncStatus()
    client = SyncClient(
        target=target,
        store=store,
        status=status,
        node_id="node-1",
        group="default",
        backoff=Backoff(base=0.01, cap=0.05),
    )
    task = asyncio.create_task(client.run())
    try:
        hello = await next_message(cp)
        assert hello.WhichOneof("kind") == "hello"
        assert (hello.hello.node_id, hello.hello.group, hello.hello.applied_version) == (
            "node-1",
            "default",
            "",
        )
        assert status.connected

        good = make_snapshot(keys, version="1")
        await cp.outbox.put(envelope(sign(good, keys), "1", good.hash))
        ack = await next_message(cp)
        assert ack.WhichOneof("kind") == "ack"
        assert (ack.ack.version, ack.ack.hash) == ("1", good.hash)
        assert store.version == "1"

        forged = make_snapshot(keys, version="2")
        await cp.outbox.put(envelope(sign(forged, KeyPair()), "2", forged.hash))
        nack = await next_message(cp)
        assert nack.WhichOneof("kind") == "nack"
        assert (nack.nack.rejected_version, nack.nack.kept_version) == ("2", "1")
        assert "signature" in nack.nack.reason
        assert store.version == "1"

        await cp.outbox.put(None)  # the control plane ends the stream
        again = await next_message(cp)
        assert again.WhichOneof("kind") == "hello"
        assert (again.hello.applied_version, again.hello.applied_hash) == ("1", good.hash)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_identical_snapshot_is_acked_without_reapplying(keys: KeyPair) -> None:
    store = SnapshotStore(verify_key=keys.verify, group_key=keys.group, group="default", last_good_file=None)
    snapshot = make_snapshot(keys, version="1")
    await store.apply(sign(snapshot, keys), source="disk")
    first = store.current
    client = SyncClient(target="127.0.0.1:1", store=store, status=SyncStatus(), node_id="n", group="default")
    reply = await client.answer(envelope(sign(snapshot, keys), "1", snapshot.hash))
    assert reply.WhichOneof("kind") == "ack"
    assert store.current is first and store.source == "control-plane"


async def test_unknown_schema_version_is_nacked_before_verifying(keys: KeyPair) -> None:
    store = SnapshotStore(verify_key=keys.verify, group_key=keys.group, group="default", last_good_file=None)
    client = SyncClient(target="127.0.0.1:1", store=store, status=SyncStatus(), node_id="n", group="default")
    message = config_pb2.SignedSnapshot(version="9", hash="h", schema_version=SCHEMA_VERSION + 1, jws="x.y.z")
    reply = await client.answer(message)
    assert reply.WhichOneof("kind") == "nack"
    assert "schema_version" in reply.nack.reason

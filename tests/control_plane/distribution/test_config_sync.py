"""Config distribution over a real gRPC Sync stream: push, ACK, NACK parking, refusals, status."""

from __future__ import annotations

import asyncio

import grpc

from control_plane.models import DataPlane
from control_plane.repos import dataplanes, revisions
from shared import apikeys
from shared.snapshot import verify_snapshot
from tests.control_plane.distribution.clients import WAIT_SECONDS, SyncClient, eventually
from tests.control_plane.distribution.conftest import Running
from tests.control_plane.snapshot_rows import add_group, add_key


def status_row(running: Running, node_id: str = "dp-1") -> DataPlane | None:
    with running.database.session() as session:
        return dataplanes.find_data_plane(session, node_id=node_id)


def latest_revision(running: Running) -> int:
    with running.database.session() as session:
        return revisions.latest(session)


async def test_current_snapshot_is_sent_at_once_and_verifies_with_the_public_key(running: Running) -> None:
    async with SyncClient(running.port) as client:
        await client.hello()
        signed = await client.receive()

    snapshot = verify_snapshot(signed.jws, running.verify_key)
    assert snapshot.group == "default"
    assert snapshot.version == signed.version == str(latest_revision(running))
    assert snapshot.hash == signed.hash
    assert snapshot.workspaces == ["demo"]


async def test_hello_upserts_a_connected_status_row(running: Running) -> None:
    async with SyncClient(running.port) as client:
        await client.hello(applied_version="0", applied_hash="abc")
        await client.receive()
        row = status_row(running)

    assert row is not None
    assert row.connected
    assert row.group == "default"
    assert row.hostname == "test-host"
    assert (row.applied_version, row.applied_hash) == ("0", "abc")


async def test_a_config_change_pushes_a_new_version(running: Running) -> None:
    async with SyncClient(running.port) as client:
        await client.hello()
        first = await client.receive()
        _, secret = await asyncio.to_thread(add_key, running.database, name="late", workspace="demo")
        pushed = await client.receive()

    snapshot = verify_snapshot(pushed.jws, running.verify_key)
    assert int(pushed.version) > int(first.version)
    assert apikeys.hash_secret(secret) in snapshot.keys


async def test_ack_records_the_applied_version_on_the_status_row(running: Running) -> None:
    async with SyncClient(running.port) as client:
        await client.hello()
        signed = await client.receive()
        await client.ack(signed)

        async def applied() -> bool:
            row = status_row(running)
            return row is not None and (row.applied_version, row.applied_hash) == (
                signed.version,
                signed.hash,
            )

        await eventually(applied, what="the ACK on the status row")


async def test_nack_is_recorded_and_the_version_is_not_resent_after_reconnecting(running: Running) -> None:
    async with SyncClient(running.port) as client:
        await client.hello()
        rejected = await client.receive()
        await client.nack(rejected, kept="", reason="schema_version 1 unsupported")

        async def nacked() -> bool:
            row = status_row(running)
            return row is not None and row.nack_version == rejected.version

        await eventually(nacked, what="the NACK on the status row")
    row = status_row(running)
    assert row is not None
    assert row.nack_reason == "schema_version 1 unsupported"
    assert row.nack_at is not None

    async with SyncClient(running.port) as client:
        await client.hello()
        # Parked: nothing is sent for the refused version; the next version is the first message.
        await asyncio.to_thread(add_key, running.database, name="next", workspace="demo")
        pushed = await client.receive()
        await client.ack(pushed)

        async def cleared() -> bool:
            row = status_row(running)
            return row is not None and row.applied_version == pushed.version and not row.nack_version

        await eventually(cleared, what="the ACK clearing the NACK")
    assert int(pushed.version) > int(rejected.version)


async def test_data_plane_running_the_current_snapshot_gets_only_newer_ones(running: Running) -> None:
    current = running.distribution.current("default")
    assert current is not None

    async with SyncClient(running.port) as client:
        await client.hello(applied_version=current.version, applied_hash=current.hash)
        await asyncio.to_thread(add_key, running.database, name="newer", workspace="demo")
        pushed = await client.receive()

    assert int(pushed.version) > int(current.version)


async def test_hello_for_an_unknown_group_is_refused_with_not_found(running: Running) -> None:
    async with SyncClient(running.port) as client:
        await client.hello(group="nowhere")
        assert await client.status() == grpc.StatusCode.NOT_FOUND
        assert "nowhere" in (await client.call.details())


async def test_a_first_message_other_than_hello_is_refused_with_invalid_argument(running: Running) -> None:
    current = running.distribution.current("default")
    assert current is not None
    async with SyncClient(running.port) as client:
        await client.ack(current)
        assert await client.status() == grpc.StatusCode.INVALID_ARGUMENT


async def test_stream_end_marks_the_data_plane_disconnected(running: Running) -> None:
    async with SyncClient(running.port) as client:
        await client.hello()
        await client.receive()

    async def disconnected() -> bool:
        row = status_row(running)
        return row is not None and not row.connected

    await eventually(disconnected, what="connected=False after the stream ended")


async def test_a_revision_without_content_change_publishes_nothing(running: Running) -> None:
    before = running.distribution.current("default")
    with running.database.transaction() as session:
        revisions.record(session, reason="nothing that data planes see")

    assert await running.distribution.publisher.refresh() == []
    assert running.distribution.current("default") is before


async def test_a_new_group_gets_its_own_snapshot(running: Running) -> None:
    await asyncio.to_thread(add_group, running.database, "eu")
    async with asyncio.timeout(WAIT_SECONDS):
        signed = await running.distribution.publisher.wait_changed("eu", None)

    assert signed is not None
    assert verify_snapshot(signed.jws, running.verify_key).group == "eu"
    async with SyncClient(running.port) as client:
        await client.hello(node_id="dp-eu", group="eu")
        assert (await client.receive()).version == signed.version


async def test_every_stream_of_a_group_receives_the_push(running: Running) -> None:
    async with SyncClient(running.port) as one, SyncClient(running.port) as two:
        await one.hello(node_id="dp-1")
        await two.hello(node_id="dp-2")
        await one.receive()
        await two.receive()
        await asyncio.to_thread(add_key, running.database, name="fanout", workspace="demo")
        first, second = await one.receive(), await two.receive()

    assert (first.version, first.hash) == (second.version, second.hash)


async def test_quick_successive_changes_end_at_the_latest_revision(running: Running) -> None:
    async with SyncClient(running.port) as client:
        await client.hello()
        await client.receive()

        def burst() -> None:
            for n in range(5):
                add_key(running.database, name=f"burst-{n}", workspace="demo")

        await asyncio.to_thread(burst)
        latest = str(latest_revision(running))
        versions: list[int] = []
        while not versions or versions[-1] != int(latest):
            versions.append(int((await client.receive()).version))

    assert versions == sorted(versions)
    assert len(versions) <= 5


async def test_deleting_a_group_ends_its_streams_with_not_found(running: Running) -> None:
    async with SyncClient(running.port) as client:
        await client.hello()
        await client.receive()
        with running.database.transaction() as session:
            group = dataplanes.get_group(session, name="default")
            assert group is not None
            session.delete(group)
            revisions.record(session, reason="group deleted")

        assert await client.status() == grpc.StatusCode.NOT_FOUND

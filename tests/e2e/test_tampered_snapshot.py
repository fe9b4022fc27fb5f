"""End to end: a snapshot altered on the wire is NACKed and the old one keeps serving.

A relay between the data plane and the real control plane forwards the Sync stream both ways
and, once told to, flips one character of the signed payload of every snapshot it passes on.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import orjson
import pytest

from shared.wire.mcpgw.config.v1 import config_pb2, config_pb2_grpc
from tests.conftest import free_port
from tests.e2e.gateway import Gateway
from tests.e2e.processes import eventually
from tests.e2e.test_foundation import register, wait_until_key_works

pytestmark = pytest.mark.e2e


def tamper(jws: str) -> str:
    """Change the signed payload (a server URL) while keeping the original signature."""
    header, payload, signature = jws.split(".")
    document = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for server in document["servers"].values():
        server["url"] = "http://127.0.0.1:9/evil"
    forged = base64.urlsafe_b64encode(orjson.dumps(document)).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


class Relay(config_pb2_grpc.ConfigDistributionServicer):
    """Forwards Sync between a data plane and the control plane; tampers when asked."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.tampering = False

    async def Sync(
        self, request_iterator: AsyncIterator[config_pb2.SyncRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[config_pb2.SignedSnapshot]:
        async with grpc.aio.insecure_channel(self.upstream) as channel:
            call = config_pb2_grpc.ConfigDistributionStub(channel).Sync(request_iterator)
            async for snapshot in call:
                if self.tampering:
                    snapshot = config_pb2.SignedSnapshot(
                        version=snapshot.version,
                        hash=snapshot.hash,
                        schema_version=snapshot.schema_version,
                        jws=tamper(snapshot.jws),
                    )
                yield snapshot


async def test_snapshot_tampered_on_the_wire_is_nacked_and_the_old_one_keeps_serving(
    tmp_path: Path, database_url: str
) -> None:
    gw = Gateway(tmp=tmp_path, database_url=database_url)
    relay = Relay(f"127.0.0.1:{gw.cp_grpc}")
    server = grpc.aio.server()
    config_pb2_grpc.add_ConfigDistributionServicer_to_server(relay, server)
    relay_port = free_port()
    server.add_insecure_port(f"127.0.0.1:{relay_port}")
    await server.start()
    try:
        await asyncio.to_thread(gw.start_upstream)
        await asyncio.to_thread(gw.start_control_plane)
        await asyncio.to_thread(gw.start_data_plane, control_plane=f"127.0.0.1:{relay_port}")
        made = await asyncio.to_thread(register, gw)
        await asyncio.to_thread(wait_until_key_works, gw, made["wide"]["secret"])

        relay.tampering = True
        later = await asyncio.to_thread(
            gw.admin_ok, "POST", "/keys", json={"name": "later", "workspace": "demo", "servers": ["py"]}
        )

        def nacked() -> bool:
            return any(p["nack_reason"] for p in gw.admin_ok("GET", "/dataplanes"))

        await asyncio.to_thread(eventually, nacked, seconds=15, what="NACK recorded")
        plane = (await asyncio.to_thread(gw.admin_ok, "GET", "/dataplanes"))[0]
        assert "signature" in plane["nack_reason"]
        assert plane["applied_version"] != plane["nack_version"]

        async with gw.mcp_client("py", made["wide"]["secret"]) as client:
            result = await client.call_tool("echo", {"text": "untouched"})
        assert result.content[0].text == "untouched"  # type: ignore[union-attr]
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {
            "Authorization": f"Bearer {later['secret']}",
            "Accept": "application/json, text/event-stream",
        }
        async with httpx.AsyncClient() as http:
            refused = await http.post(gw.mcp_url("py"), json=body, headers=headers, timeout=5)
        assert refused.status_code == 401
    except BaseException:
        print(gw.logs())
        raise
    finally:
        await server.stop(grace=None)
        await asyncio.to_thread(gw.stop)

"""Distribution: the publisher plus the gRPC server data planes dial (config out, audit in, user tokens)."""

from __future__ import annotations

import asyncio
import logging

import grpc
from joserfc.jwk import OKPKey

from control_plane.audit import AuditIngestService
from control_plane.crypto import SecretBox
from control_plane.db import Database
from control_plane.distribution.config_service import ConfigService
from control_plane.distribution.inflight import InflightWork
from control_plane.distribution.publisher import Publisher
from control_plane.distribution.user_tokens import UserTokenService
from control_plane.settings import ControlPlaneSettings
from control_plane.user_oauth import UserOAuth
from shared.wire.mcpgw.audit.v1 import audit_pb2_grpc
from shared.wire.mcpgw.config.v1 import config_pb2, config_pb2_grpc
from shared.wire.mcpgw.tokens.v1 import tokens_pb2_grpc

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 256 * 1024 * 1024
STOP_GRACE_SECONDS = 5.0

GRPC_OPTIONS: list[tuple[str, int]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # Ping idle streams so a vanished data plane (or a NAT that dropped the flow) is noticed.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # Accept the data planes' own keepalive pings (every 10 s or more) without GOAWAY.
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
]


class Distribution:
    """Compiles and publishes snapshots and serves ``ConfigDistribution`` and ``AuditIngest``."""

    def __init__(
        self,
        *,
        settings: ControlPlaneSettings,
        database: Database,
        signing_key: OKPKey,
        secrets: SecretBox,
        user_oauth: UserOAuth | None = None,
    ) -> None:
        self._settings = settings
        self._database = database
        self._user_oauth = user_oauth or UserOAuth(
            db=database, secrets=secrets, public_url=settings.public_url
        )
        self._inflight = InflightWork()
        self._publisher = Publisher(
            database=database,
            secrets=secrets,
            signing_key=signing_key,
            debounce_seconds=settings.push_debounce_seconds,
            poll_seconds=settings.revision_poll_seconds,
            inflight=self._inflight,
        )
        self._server: grpc.aio.Server | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound gRPC port (the actual one when the settings asked for port 0)."""
        if self._port is None:
            raise RuntimeError("distribution is not started")
        return self._port

    @property
    def publisher(self) -> Publisher:
        """The snapshot publisher (to wait on changes, e.g. in tests)."""
        return self._publisher

    def current(self, group: str) -> config_pb2.SignedSnapshot | None:
        """The signed snapshot data planes of ``group`` should run now, or ``None``."""
        return self._publisher.current(group)

    async def start(self) -> None:
        """Compile the initial snapshots, start watching for changes and start serving gRPC."""
        await self._publisher.start()
        server = grpc.aio.server(options=GRPC_OPTIONS)
        config_pb2_grpc.add_ConfigDistributionServicer_to_server(
            ConfigService(database=self._database, publisher=self._publisher, inflight=self._inflight), server
        )
        tokens_pb2_grpc.add_UserTokensServicer_to_server(
            UserTokenService(database=self._database, broker=self._user_oauth, inflight=self._inflight),
            server,
        )
        audit_pb2_grpc.add_AuditIngestServicer_to_server(
            AuditIngestService(database=self._database, inflight=self._inflight), server
        )
        address = f"{self._settings.grpc_host}:{self._settings.grpc_port}"
        try:
            self._port = server.add_insecure_port(address)
            await server.start()
        except RuntimeError:
            await self._publisher.stop()
            await self._drain()
            raise
        self._server = server
        logger.info("config distribution listening on %s:%d", self._settings.grpc_host, self._port)

    async def stop(self) -> None:
        """End every stream (data planes reconnect elsewhere or later) and stop serving."""
        await self._publisher.stop()
        if self._server is not None:
            await self._server.stop(STOP_GRACE_SECONDS)
            self._server = None
        # Status writes of the streams that just ended, a compile in progress: let them finish
        # before the caller disposes the database.
        await self._drain()

    async def _drain(self) -> None:
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await self._inflight.drain()
        except TimeoutError:
            logger.warning("%d database call(s) still running at shutdown", self._inflight.pending)

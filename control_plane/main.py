"""Serve the control plane (admin API and, through the lifespan, config distribution)."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from control_plane.app import create_app
from control_plane.settings import ControlPlaneSettings

logger = logging.getLogger(__name__)


def run(settings: ControlPlaneSettings) -> None:
    """Serve until interrupted, on ``settings.http_host:http_port``."""
    config = uvicorn.Config(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_level="info"
    )
    server = uvicorn.Server(config)
    logger.info(
        "control plane admin API on http://%s:%d/api/v1, gRPC on %s:%d",
        settings.http_host,
        settings.http_port,
        settings.grpc_host,
        settings.grpc_port,
    )
    asyncio.run(server.serve())

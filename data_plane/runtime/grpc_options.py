"""Channel options shared by the data plane's gRPC clients."""

from __future__ import annotations

import asyncio

import grpc

MAX_MESSAGE_BYTES = 256 * 1024 * 1024

CHANNEL_OPTIONS: list[tuple[str, int]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]

STREAM_ERRORS: tuple[type[BaseException], ...] = (
    grpc.aio.AioRpcError,
    grpc.aio.UsageError,
    asyncio.InvalidStateError,
    TimeoutError,
    OSError,
)
"""What a broken or unreachable stream raises; the reconnect loops catch exactly these."""

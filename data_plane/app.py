"""Application factories: ``create_app`` (the MCP port) and ``create_admin_app`` (health).

Objects are built here; background work starts and stops through ``cleanup_ctx``:
boot snapshot (file or last good on disk) -> upstream connection pool -> audit shipper
(spool replayed) -> config sync client. Cleanup runs in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web
from joserfc.jwk import OKPKey

from data_plane import keys
from data_plane.audit.buffer import AuditBuffer
from data_plane.audit.shipper import AuditShipper
from data_plane.http import health, jwks, legacy_sse, mcp, metadata
from data_plane.http.middleware import last_resort
from data_plane.http.sse_stream import LegacySseStreams
from data_plane.pipeline.chain import build_chain
from data_plane.runtime.authz_webhook import WebhookDecider
from data_plane.runtime.identity.fetch import AiohttpIdentityHttp
from data_plane.runtime.identity.introspection import IntrospectionCache
from data_plane.runtime.identity.jwks import JwksCache
from data_plane.runtime.identity.prefetch import JwksPrefetcher
from data_plane.runtime.identity.verifier import IdentityVerifier
from data_plane.runtime.identity.webhook import AuthnWebhookClient
from data_plane.runtime.sessions import SESSION_KEY_INFO, SessionSealer, derive_group_secret
from data_plane.runtime.stdio.host import StdioHost
from data_plane.runtime.task_ids import TASK_KEY_INFO, TaskIds
from data_plane.runtime.transport_policy import TransportPolicy
from data_plane.runtime.upstream import UpstreamClient
from data_plane.runtime.user_tokens import UserTokenSource
from data_plane.settings import DataPlaneSettings
from data_plane.snapshot.files import load_or_create_node_id
from data_plane.snapshot.store import SnapshotStore
from data_plane.sync.client import SyncClient, SyncStatus
from shared import keyfiles

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024
STOP_TIMEOUT_SECONDS = 5.0


def _group_key(settings: DataPlaneSettings) -> OKPKey | None:
    return keyfiles.read_key(settings.group_key_file) if settings.group_key_file else None


def build_store(settings: DataPlaneSettings, *, group_key: OKPKey | None = None) -> SnapshotStore:
    """The snapshot store with the keys named in ``settings`` (``group_key`` if already read)."""
    verify_key = keyfiles.read_key(settings.verify_key_file) if settings.verify_key_file else None
    if group_key is None:
        group_key = _group_key(settings)
    if verify_key is None:
        logger.warning("no verify key configured: this data plane cannot accept any snapshot")
    return SnapshotStore(
        verify_key=verify_key,
        group_key=group_key,
        group=settings.group,
        last_good_file=settings.last_good_file,
        connect_timeout=settings.connect_timeout_seconds,
        allow_stdio=settings.allow_stdio,
        tables_dir=settings.tables_dir,
        large_snapshot_bytes=settings.large_snapshot_bytes,
        cache_entries=settings.cache_entries,
    )


def build_sealer(group_key: OKPKey | None, *, info: bytes = SESSION_KEY_INFO) -> SessionSealer:
    """The session sealer: derived from the group key, so every data plane of the group agrees.

    ``info`` labels the key (the legacy SSE endpoint's ``session_id`` tokens have their own).
    """
    if group_key is None:
        if info == SESSION_KEY_INFO:
            logger.warning(
                "no group key configured: session ids are sealed with a per-process key, "
                "so a session cannot move to another data plane or survive a restart"
            )
        return SessionSealer.ephemeral()
    return SessionSealer.from_group_key(group_key, info=info)


def create_app(settings: DataPlaneSettings, *, store: SnapshotStore | None = None) -> web.Application:
    """The MCP application (``POST/GET/DELETE /{slug}/mcp``); not started until run."""
    app = web.Application(middlewares=[last_resort], client_max_size=MAX_BODY_BYTES)
    node_id = load_or_create_node_id(settings.node_id_file)
    if settings.worker_index:
        # Each worker holds its own config stream and audit stream: it is a data plane of its own.
        node_id = f"{node_id}-w{settings.worker_index}"
    group_key = _group_key(settings)
    store = store if store is not None else build_store(settings, group_key=group_key)
    policy = TransportPolicy.build(
        listen_host=settings.listen_host,
        public_base_url=settings.public_base_url,
        allowed_origins=settings.allowed_origins,
        allowed_hosts=settings.allowed_hosts,
    )
    buffer = AuditBuffer(capacity=settings.audit_buffer_size, batch_size=settings.audit_batch_size)
    # The host serves stdio pools (when allowed: compile refuses them otherwise) and legacy SSE pools.
    stdio = StdioHost()
    client = UpstreamClient(
        stdio_socket=stdio.socket_path,
        user_token_source=UserTokenSource(
            target=settings.control_plane, group=settings.group, group_key=group_key
        ),
    )
    identity_http = AiohttpIdentityHttp(timeout_seconds=settings.connect_timeout_seconds)
    identity = IdentityVerifier(
        JwksCache(identity_http),
        IntrospectionCache(identity_http, max_concurrent=settings.introspection_concurrency),
    )
    prefetcher = JwksPrefetcher(identity.jwks)
    store.on_swap(prefetcher.on_swap)
    if store.current is not None:
        prefetcher.on_swap(store.current)
    webhooks = WebhookDecider()
    authn_webhooks = AuthnWebhookClient()
    status = SyncStatus()
    app[keys.SETTINGS] = settings
    app[keys.NODE_ID] = node_id
    app[keys.STORE] = store
    app[keys.PUBLIC_BASE_URL] = settings.public_base_url
    app[keys.UPSTREAM] = client
    app[keys.STDIO] = stdio
    store.on_swap(stdio.reconcile)
    app[keys.IDENTITY_HTTP] = identity_http
    app[keys.WEBHOOKS] = webhooks
    app[keys.LEGACY_SSE] = LegacySseStreams(build_sealer(group_key, info=legacy_sse.STREAM_KEY_INFO))
    app[keys.AUTHN_WEBHOOKS] = authn_webhooks
    app[keys.IDENTITY] = identity
    app[keys.JWKS_PREFETCH] = prefetcher
    app[keys.AUDIT_BUFFER] = buffer
    app[keys.SYNC_STATUS] = status
    app[keys.CHAIN] = build_chain(
        client=client,
        buffer=buffer,
        node_id=node_id,
        policy=policy,
        sealer=build_sealer(group_key),
        session_max_age=settings.session_max_age_seconds,
        identity=identity,
        public_base_url=settings.public_base_url,
        webhooks=webhooks,
        authn_webhooks=authn_webhooks,
        task_ids=TaskIds(derive_group_secret(group_key, TASK_KEY_INFO)) if group_key else TaskIds.ephemeral(),
    )
    app[keys.AUDIT_SHIPPER] = AuditShipper(
        target=settings.control_plane,
        buffer=buffer,
        node_id=node_id,
        spool_file=settings.audit_spool_file,
        batch_size=settings.audit_batch_size,
        flush_seconds=settings.audit_flush_ms / 1000,
    )
    if settings.control_plane:
        app[keys.SYNC_CLIENT] = SyncClient(
            target=settings.control_plane, store=store, status=status, node_id=node_id, group=settings.group
        )
    app.cleanup_ctx.extend(
        [_boot_snapshot, _stdio_host, _upstream_pool, _legacy_sse, _audit_shipper, _sync_client]
    )
    mcp.add_routes(app)
    legacy_sse.add_routes(app)
    metadata.add_routes(app)
    jwks.add_routes(app)
    return app


def create_admin_app(mcp_app: web.Application) -> web.Application:
    """The admin application (``/healthz``, ``/readyz``) reading the MCP app's live objects."""
    admin = web.Application()
    admin[keys.STORE] = mcp_app[keys.STORE]
    admin[keys.SYNC_STATUS] = mcp_app[keys.SYNC_STATUS]
    admin[keys.AUDIT_BUFFER] = mcp_app[keys.AUDIT_BUFFER]
    health.add_routes(admin)
    return admin


async def _boot_snapshot(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.SETTINGS]
    store = app[keys.STORE]
    if store.current is None:
        if settings.snapshot_file is not None:
            await store.load_file(settings.snapshot_file, source="file")
        else:
            await store.load_file(settings.last_good_file, source="disk")
    logger.info(
        "node %s starts %s",
        app[keys.NODE_ID],
        f"with snapshot {store.version} ({store.source})" if store.current else "without a snapshot",
    )
    yield


async def _stdio_host(app: web.Application) -> AsyncIterator[None]:
    host = app.get(keys.STDIO)
    if host is None:
        yield
        return
    host.reconcile(app[keys.STORE].current)
    await host.start()
    yield
    await host.close()


async def _upstream_pool(app: web.Application) -> AsyncIterator[None]:
    client = app[keys.UPSTREAM]
    identity_http = app[keys.IDENTITY_HTTP]
    webhooks = app[keys.WEBHOOKS]
    authn_webhooks = app[keys.AUTHN_WEBHOOKS]
    await client.start()
    await identity_http.start()
    await webhooks.start()
    await authn_webhooks.start()
    prefetcher = app[keys.JWKS_PREFETCH]
    prefetcher.start()
    yield
    await prefetcher.close()
    await authn_webhooks.close()
    await webhooks.close()
    await identity_http.close()
    await client.close()


async def _legacy_sse(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[keys.LEGACY_SSE].close()


async def _stop(task: asyncio.Task[None]) -> None:
    if task.done():
        return  # already finished (a crash was logged by _report_crash)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
            await task


def _spawn(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(_report_crash)
    return task


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("background task %s died", task.get_name(), exc_info=task.exception())


async def _audit_shipper(app: web.Application) -> AsyncIterator[None]:
    shipper = app[keys.AUDIT_SHIPPER]
    await asyncio.to_thread(shipper.load_spool)
    task = _spawn(shipper.run(), "audit-shipper")
    yield
    await _stop(task)
    shipper.spool()


async def _sync_client(app: web.Application) -> AsyncIterator[None]:
    client = app.get(keys.SYNC_CLIENT)
    if client is None:
        yield
        return
    task = _spawn(client.run(), "config-sync")
    yield
    await _stop(task)

"""Every typed ``web.AppKey`` of the data plane's applications, in one place."""

from __future__ import annotations

from aiohttp import web

from data_plane.audit.buffer import AuditBuffer
from data_plane.audit.shipper import AuditShipper
from data_plane.http.sse_stream import LegacySseStreams
from data_plane.pipeline.chain import Chain
from data_plane.runtime.authz_webhook import WebhookDecider
from data_plane.runtime.identity.fetch import AiohttpIdentityHttp
from data_plane.runtime.identity.prefetch import JwksPrefetcher
from data_plane.runtime.identity.verifier import IdentityVerifier
from data_plane.runtime.identity.webhook import AuthnWebhookClient
from data_plane.runtime.stdio.host import StdioHost
from data_plane.runtime.upstream import UpstreamClient
from data_plane.settings import DataPlaneSettings
from data_plane.snapshot.store import SnapshotStore
from data_plane.sync.client import SyncClient, SyncStatus

SETTINGS = web.AppKey("settings", DataPlaneSettings)
NODE_ID = web.AppKey("node_id", str)
STORE = web.AppKey("snapshot_store", SnapshotStore)
UPSTREAM = web.AppKey("upstream_client", UpstreamClient)
AUDIT_BUFFER = web.AppKey("audit_buffer", AuditBuffer)
AUDIT_SHIPPER = web.AppKey("audit_shipper", AuditShipper)
CHAIN = web.AppKey("chain", Chain)
SYNC_STATUS = web.AppKey("sync_status", SyncStatus)
SYNC_CLIENT = web.AppKey("sync_client", SyncClient)
PUBLIC_BASE_URL = web.AppKey("public_base_url", str)
IDENTITY_HTTP = web.AppKey("identity_http", AiohttpIdentityHttp)
STDIO = web.AppKey("stdio_host", StdioHost)
WEBHOOKS = web.AppKey("authz_webhooks", WebhookDecider)
LEGACY_SSE = web.AppKey("legacy_sse_streams", LegacySseStreams)
AUTHN_WEBHOOKS = web.AppKey("authn_webhooks", AuthnWebhookClient)
IDENTITY = web.AppKey("identity_verifier", IdentityVerifier)
JWKS_PREFETCH = web.AppKey("jwks_prefetch", JwksPrefetcher)

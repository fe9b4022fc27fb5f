"""Test kit for the data plane: keys, snapshots signed in the test, compiled snapshots, contexts."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from joserfc.jwk import OKPKey
from multidict import CIMultiDict, CIMultiDictProxy

from data_plane.pipeline.context import RequestContext
from data_plane.runtime.compiled import CompiledSnapshot
from data_plane.snapshot.compile import compile_snapshot
from shared import keyfiles
from shared.apikeys import hash_secret
from shared.sealing import seal
from shared.snapshot import (
    AuthnWebhookEntry,
    KeyEntry,
    Sealed,
    ServerEntry,
    Snapshot,
    ToolEntry,
    sign_snapshot,
    with_content_hash,
)
from shared.snapshot.access import AccessSection

WIDE = "mcpgw_test_wide_0123456789abcdefghij"
NARROW = "mcpgw_test_narrow_0123456789abcdefgh"
EXPIRED = "mcpgw_test_expired_0123456789abcdefg"
ELSEWHERE = "mcpgw_test_elsewhere_0123456789abcde"
UPSTREAM_SECRET = "upstream-secret-value-42"


@dataclass
class KeyPair:
    """The control plane's signing key and the group's sealing key, made in the test."""

    signing: OKPKey = field(default_factory=lambda: keyfiles.generate("Ed25519"))
    group: OKPKey = field(default_factory=lambda: keyfiles.generate("X25519"))

    @property
    def verify(self) -> OKPKey:
        return keyfiles.from_jwk(keyfiles.public_jwk(self.signing))

    @property
    def group_public(self) -> OKPKey:
        return keyfiles.from_jwk(keyfiles.public_jwk(self.group))


def make_snapshot(
    keys: KeyPair,
    *,
    url: str = "http://127.0.0.1:9/mcp",
    version: str = "1",
    headers: dict[str, str] | None = None,
    extra_keys: dict[str, KeyEntry] | None = None,
    access: AccessSection | None = None,
    tools: dict[str, ToolEntry] | None = None,
    transport: Literal["streamable-http", "sse"] = "streamable-http",
    authn_webhooks: dict[str, AuthnWebhookEntry] | None = None,
) -> Snapshot:
    """A snapshot with server ``py`` (and ``other``) and the four test keys (``transport``: of ``py``)."""
    sealed = {n: Sealed(sealed=seal(v, keys.group_public)) for n, v in (headers or {}).items()}
    servers = {
        "py": ServerEntry(
            id="srv-py",
            workspace="demo",
            url=url,
            transport=transport,
            headers=sealed,
            timeout_seconds=10,
            tools=tools or {},
        ),
        "other": ServerEntry(id="srv-other", workspace="demo", url=url, timeout_seconds=10),
    }
    entries = {
        hash_secret(WIDE): KeyEntry(id="k-wide", name="wide", workspace="demo", servers={"py": None}),
        hash_secret(NARROW): KeyEntry(
            id="k-narrow", name="narrow", workspace="demo", servers={"py": ["echo"]}
        ),
        hash_secret(EXPIRED): KeyEntry(
            id="k-expired",
            name="expired",
            workspace="demo",
            expires_at=int(time.time()) - 1,
            servers={"py": None},
        ),
        hash_secret(ELSEWHERE): KeyEntry(
            id="k-elsewhere", name="elsewhere", workspace="demo", servers={"other": None}
        ),
        **(extra_keys or {}),
    }
    draft = Snapshot(
        version=version,
        hash="",
        group="default",
        created_at=int(time.time()),
        servers=servers,
        keys=entries,
        access=access or AccessSection(),
        authn_webhooks=authn_webhooks or {},
    )
    return with_content_hash(draft)


def sign(snapshot: Snapshot, keys: KeyPair) -> str:
    """The compact JWS of ``snapshot``."""
    return sign_snapshot(snapshot, keys.signing)


def compiled(keys: KeyPair, **kwargs: Any) -> CompiledSnapshot:
    """A compiled snapshot built in memory (see :func:`make_snapshot` for the content)."""
    snapshot = make_snapshot(keys, **kwargs)
    return compile_snapshot(snapshot, keys.group)


def context(
    snapshot: CompiledSnapshot | None = None,
    *,
    body: bytes = b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    method: str = "POST",
    slug: str = "py",
    headers: dict[str, str] | None = None,
) -> RequestContext:
    """A fresh request context as the HTTP layer builds it."""
    return RequestContext(
        http_method=method,
        slug=slug,
        headers=CIMultiDictProxy(CIMultiDict(headers or {})),
        body=body,
        started=time.perf_counter(),
        snapshot=snapshot,
    )


def bearer(secret: str) -> dict[str, str]:
    """An Authorization header for ``secret``."""
    return {"Authorization": f"Bearer {secret}"}

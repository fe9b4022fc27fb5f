"""The compiled snapshot: runtime indexes built once per snapshot, read on every request.

Every lookup on the hot path is one dict access. Injected header values are unsealed once,
at compile time, and live only in memory (never persisted, never logged).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import aiohttp

from data_plane.runtime.authz_webhook import Webhook
from data_plane.runtime.identity.providers import AuthnWebhook, IdentityIndex
from data_plane.runtime.identity_signer import IdentitySigner
from data_plane.runtime.sse_upstream.connection import SseTarget
from data_plane.runtime.stdio.launch import StdioLaunch
from data_plane.runtime.upstream_credentials import ClientCredentials, IdentityPolicy, TokenExchange
from shared.access import AccessIndex, Caller


@dataclass(frozen=True, slots=True)
class Principal:
    """An agent key, or a user or machine authenticated by an identity provider's token."""

    key_id: str
    """The key id; for an IdP principal ``idp-`` + a digest of (issuer, subject)."""
    name: str
    """The key name; for an IdP principal the subject (what audit events record)."""
    workspace: str
    expires_at: int | None
    caller: Caller | None = None
    """What access control sees (built once per snapshot for a key); ``None`` for an IdP
    principal, whose caller is resolved per request against the snapshot's users and teams."""
    subject: str = ""
    email: str = ""
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    team: str = ""
    identity_provider: str = ""
    """Slug of the identity provider that vouched for this principal; empty for agent keys."""
    authenticator: str = ""
    """``authn-webhook:<workspace>`` for a principal an authentication webhook vouched for."""
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The verified token's claims (claim conditions of grants read them); empty for keys."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """An upstream MCP server reachable at ``/{slug}/mcp``."""

    slug: str
    server_id: str
    workspace: str
    url: str
    timeout_seconds: float
    injected_headers: tuple[tuple[str, str], ...] = field(repr=False)
    """Unsealed credential headers; ``repr=False`` so they never reach a log line."""
    request_timeout: aiohttp.ClientTimeout
    """For POST: bounded connect, ``sock_read`` = server timeout, no total (SSE may stream)."""
    stream_timeout: aiohttp.ClientTimeout
    """For the GET stream: bounded connect, no read bound (long-lived server-initiated SSE)."""
    token_source: ClientCredentials | None = None
    """OAuth client credentials whose token goes upstream as ``Authorization: Bearer``."""
    per_user: bool = False
    """Per-user OAuth: the calling user's own token goes upstream (from the control plane's broker)."""
    exchange: TokenExchange | None = None
    """RFC 8693: the caller's IdP token is exchanged for the token that goes upstream."""
    identity: IdentityPolicy | None = None
    """How the caller's identity goes upstream (signed JWT, plain headers); ``None``: it does not."""
    stdio: StdioLaunch | None = None
    """For a stdio server, what its pool launches; ``url`` then names the pool (``runtime/stdio``)."""
    sse: SseTarget | None = None
    """For a legacy HTTP+SSE server, where its pool connects; ``url`` then names the pool
    (``runtime/sse_upstream``), and the credentials above go on its GET and POSTs."""


V = TypeVar("V")
V_co = TypeVar("V_co", covariant=True)


class Lookup(Protocol[V_co]):
    """What the request path asks of the keys and servers of a snapshot: a dict, or a
    :class:`LazyIndex` for a snapshot whose entries are compiled on first use."""

    def get(self, key: str, /) -> V_co | None: ...

    def __contains__(self, key: object, /) -> bool: ...

    def __getitem__(self, key: str, /) -> V_co: ...


class LazyIndex(Generic[V]):
    """Entries compiled the first time they are asked for; at most ``size`` are kept.

    Built over a large snapshot's tables (``snapshot/tables.py``): memory follows what the
    traffic uses, not how big the configuration is. A miss is cached too (a bounded cache,
    so unknown names cannot grow it).
    """

    __slots__ = ("_get",)

    def __init__(self, load: Callable[[str], V | None], size: int) -> None:
        self._get = lru_cache(maxsize=size)(load)

    def get(self, key: str, /) -> V | None:
        """The entry ``key``, or ``None``."""
        return self._get(key)

    def __contains__(self, key: object, /) -> bool:
        return isinstance(key, str) and self._get(key) is not None

    def __getitem__(self, key: str, /) -> V:
        value = self._get(key)
        if value is None:
            raise KeyError(key)
        return value


@dataclass(frozen=True, slots=True)
class CompiledSnapshot:
    """One verified snapshot, ready to serve."""

    version: str
    hash: str
    group: str
    keys: Lookup[Principal]
    """SHA-256 of the key secret -> principal."""
    servers: Lookup[Upstream]
    """Server slug -> upstream."""
    access: AccessIndex
    """Grants, users and teams, indexed for the authorize stage (``shared.access``)."""
    hosted: Mapping[str, Upstream] = field(default_factory=dict)
    """The stdio and legacy SSE servers (slug -> upstream): the in-process host runs their pools
    whether or not a request came (``runtime/stdio/host.py``)."""
    webhooks: Mapping[str, Webhook] = field(default_factory=dict)
    """Workspace slug -> its authorization webhook (headers unsealed)."""
    identity: IdentityIndex = field(default_factory=IdentityIndex)
    """Identity providers by issuer and by server (client authentication with IdP tokens)."""
    authn_webhooks: Mapping[str, AuthnWebhook] = field(default_factory=dict)
    """Workspace slug -> its authentication webhook (headers unsealed)."""
    identity_signer: IdentitySigner | None = None
    """Signs identity JWTs toward upstreams with the group's identity key (when it has one)."""
    virtual_servers: Mapping[str, Any] = field(default_factory=dict)
    """Slug -> ``runtime.virtual.model.VirtualServer`` (typed loosely: that module imports this one)."""
    tables: Path | None = None
    """The SQLite file a large snapshot's entries are read from (``None``: all in memory)."""

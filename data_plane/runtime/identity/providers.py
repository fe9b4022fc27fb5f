"""Identity providers compiled for the hot path: by issuer, by server, with secrets unsealed once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from joserfc.jwk import OKPKey

from shared.sealing import UnsealError, unseal
from shared.snapshot import AuthnWebhookEntry, ClaimMapping, IdentityProviderEntry, SnapshotRejected


@dataclass(frozen=True, slots=True)
class Provider:
    """One identity provider as the data plane enforces it."""

    id: str
    slug: str
    workspace: str
    issuer: str
    audiences: frozenset[str]
    jwks_uri: str
    algorithms: frozenset[str]
    required_claims: tuple[tuple[str, str], ...]
    required_scopes: frozenset[str]
    claims: ClaimMapping
    leeway_seconds: int
    servers: frozenset[str]
    introspection_endpoint: str = ""
    introspection_client_id: str = ""
    introspection_secret: str = field(default="", repr=False)
    """Unsealed at compile time; ``repr=False`` so it never reaches a log line."""


@dataclass(frozen=True, slots=True)
class IdentityIndex:
    """The snapshot's identity providers, indexed for O(1) lookups."""

    by_issuer: Mapping[str, Provider] = field(default_factory=dict)
    by_server: Mapping[str, tuple[Provider, ...]] = field(default_factory=dict)
    """Server slug -> the providers whose principals may use it (protected-resource metadata)."""
    introspecting: Mapping[str, tuple[Provider, ...]] = field(default_factory=dict)
    """Server slug -> those of them that can introspect opaque tokens."""


@dataclass(frozen=True, slots=True)
class AuthnWebhook:
    """A workspace's authentication webhook, compiled from the snapshot (headers unsealed)."""

    workspace: str
    url: str
    timeout_seconds: float
    max_cache_seconds: float
    unavailable_on_failure: bool
    """``failure_mode: unavailable``: a webhook failure is a 503, not a 401."""
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    """``repr=False``: header values are credentials and never reach a log line."""

    @property
    def rule(self) -> str:
        return f"authn-webhook:{self.workspace}"


def compile_authn_webhooks(
    entries: Mapping[str, AuthnWebhookEntry], group_key: OKPKey | None
) -> dict[str, AuthnWebhook]:
    """Workspace slug -> its authentication webhook, headers unsealed once (:class:`SnapshotRejected`
    when one cannot be)."""
    return {
        workspace: AuthnWebhook(
            workspace=workspace,
            url=entry.url,
            timeout_seconds=entry.timeout_seconds,
            max_cache_seconds=entry.max_cache_seconds,
            unavailable_on_failure=entry.failure_mode == "unavailable",
            headers=tuple(
                (
                    name,
                    _unsealed(
                        sealed.sealed,
                        group_key,
                        f"header {name!r} of the authentication webhook of {workspace!r}",
                    ),
                )
                for name, sealed in entry.headers.items()
            ),
        )
        for workspace, entry in entries.items()
    }


def _unsealed(sealed: str, group_key: OKPKey | None, what: str) -> str:
    if group_key is None:
        raise SnapshotRejected(f"cannot unseal {what}: no group key")
    try:
        return unseal(sealed, group_key)
    except UnsealError as exc:
        raise SnapshotRejected(f"cannot unseal {what}: {exc}") from exc


def _provider(entry: IdentityProviderEntry, group_key: OKPKey | None) -> Provider:
    secret = ""
    if entry.introspection_client_secret is not None:
        secret = _unsealed(
            entry.introspection_client_secret.sealed,
            group_key,
            f"the introspection secret of identity provider {entry.slug!r}",
        )
    return Provider(
        id=entry.id,
        slug=entry.slug,
        workspace=entry.workspace,
        issuer=entry.issuer,
        audiences=frozenset(entry.audiences),
        jwks_uri=entry.jwks_uri,
        algorithms=frozenset(entry.algorithms),
        required_claims=tuple(entry.required_claims.items()),
        required_scopes=frozenset(entry.required_scopes),
        claims=entry.claims,
        leeway_seconds=entry.leeway_seconds,
        servers=frozenset(entry.servers),
        introspection_endpoint=entry.introspection_endpoint,
        introspection_client_id=entry.introspection_client_id,
        introspection_secret=secret,
    )


def compile_providers(
    entries: Mapping[str, IdentityProviderEntry], group_key: OKPKey | None
) -> IdentityIndex:
    """Build the index; raises :class:`SnapshotRejected` when a secret cannot be unsealed."""
    by_issuer = {issuer: _provider(entry, group_key) for issuer, entry in entries.items()}
    by_server: dict[str, list[Provider]] = defaultdict(list)
    for provider in by_issuer.values():
        for slug in sorted(provider.servers):
            by_server[slug].append(provider)
    return IdentityIndex(
        by_issuer=by_issuer,
        by_server={slug: tuple(found) for slug, found in by_server.items()},
        introspecting={
            slug: tuple(p for p in found if p.introspection_endpoint)
            for slug, found in by_server.items()
            if any(p.introspection_endpoint for p in found)
        },
    )

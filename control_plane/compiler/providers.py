"""Identity providers -> snapshot entries (issuer -> entry), introspection secrets sealed.

Like header values, the introspection client secret is decrypted with the master key and
sealed to the group key; the "stable" twin of the snapshot (used for the content key) carries a
digest instead, so an unchanged database yields the same content key.
"""

from __future__ import annotations

from collections.abc import Callable

from joserfc.jwk import OKPKey
from sqlmodel import Session, select

from control_plane.crypto import SecretBox, SecretBoxError
from control_plane.models import IdentityProvider
from shared import sealing
from shared.snapshot import ClaimMapping, IdentityProviderEntry, Sealed, Snapshot


class IdentityCompileError(Exception):
    """An identity provider's secret cannot be decrypted."""


def provider_entry(provider: IdentityProvider, *, workspace: str, servers: set[str]) -> IdentityProviderEntry:
    """The snapshot entry of an identity provider, without its introspection secret."""
    return IdentityProviderEntry(
        id=provider.id,
        slug=provider.slug,
        workspace=workspace,
        issuer=provider.issuer,
        audiences=sorted(provider.audiences),
        jwks_uri=provider.jwks_uri,
        algorithms=sorted(provider.algorithms),
        required_claims=dict(sorted(provider.required_claims.items())),
        required_scopes=sorted(provider.required_scopes),
        claims=ClaimMapping.model_validate(provider.claim_mapping),
        leeway_seconds=provider.leeway_seconds,
        introspection_endpoint=provider.introspection_endpoint,
        introspection_client_id=provider.introspection_client_id,
        servers=sorted(slug for slug in provider.servers if slug in servers),
    )


def attach(
    session: Session,
    *,
    stable: Snapshot,
    sealed: Snapshot,
    secrets: SecretBox,
    workspace_slugs: dict[str, str],
    group_key: Callable[[], OKPKey],
    digest: Callable[[str], str],
) -> tuple[Snapshot, Snapshot]:
    """``stable`` and ``sealed`` with their ``identity_providers`` filled."""
    servers = set(stable.servers)
    plain: dict[str, IdentityProviderEntry] = {}
    opened: dict[str, str] = {}
    for provider in session.exec(select(IdentityProvider).order_by(IdentityProvider.issuer)):
        workspace = workspace_slugs.get(provider.workspace_id, "") if provider.workspace_id else ""
        plain[provider.issuer] = provider_entry(provider, workspace=workspace, servers=servers)
        if provider.introspection_secret_encrypted:
            try:
                opened[provider.issuer] = secrets.decrypt(provider.introspection_secret_encrypted)
            except SecretBoxError as exc:
                raise IdentityCompileError(
                    f"introspection secret of identity provider {provider.slug!r} cannot be decrypted"
                ) from exc
    if not plain:
        return stable, sealed
    key = group_key() if opened else None

    def with_secrets(value_of: Callable[[str], str]) -> dict[str, IdentityProviderEntry]:
        return {
            issuer: entry.model_copy(
                update={"introspection_client_secret": Sealed(sealed=value_of(opened[issuer]))}
            )
            if issuer in opened
            else entry
            for issuer, entry in plain.items()
        }

    stable_entries = with_secrets(digest)
    sealed_entries = stable_entries if key is None else with_secrets(lambda value: sealing.seal(value, key))
    return (
        stable.model_copy(update={"identity_providers": stable_entries}),
        sealed.model_copy(update={"identity_providers": sealed_entries}),
    )

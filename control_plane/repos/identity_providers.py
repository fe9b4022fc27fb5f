"""Identity providers: create, read, update, delete.

The introspection client secret is stored only encrypted (``SecretBox``) and never presented.
Every write records a config revision (unless the caller batches them, as ``apply`` does).
"""

from __future__ import annotations

from sqlmodel import Session, select

from control_plane.crypto import SecretBox
from control_plane.models import (
    IdentityProvider,
    IdentityProviderCreate,
    IdentityProviderPublic,
    IdentityProviderUpdate,
    Server,
)
from control_plane.models.common import utcnow
from control_plane.models.identity import ClaimMappingModel
from control_plane.repos import access_refs, revisions, workspaces
from control_plane.repos.errors import Conflict, Invalid, NotFound


def keycloak_issuer(server_url: str, realm: str) -> str:
    """The issuer Keycloak uses for ``realm`` (``{server}/realms/{realm}``)."""
    return f"{server_url.rstrip('/')}/realms/{realm}"


def _issuer_of(data: IdentityProviderCreate) -> str:
    if data.kind == "keycloak":
        if not data.keycloak_server_url or not data.keycloak_realm:
            raise Invalid("a keycloak identity provider needs keycloak_server_url and keycloak_realm")
        return data.issuer or keycloak_issuer(data.keycloak_server_url, data.keycloak_realm)
    if not data.issuer:
        raise Invalid("an oidc identity provider needs an issuer")
    return data.issuer


def _check_servers(session: Session, *, servers: list[str], workspace_id: str | None) -> None:
    known = {s.slug: s.workspace_id for s in session.exec(select(Server).where(Server.slug.in_(servers)))}  # type: ignore[attr-defined]
    missing = sorted(set(servers) - set(known))
    if missing:
        raise Invalid(f"unknown server(s): {', '.join(missing)}")
    if workspace_id is not None:
        foreign = sorted(slug for slug, owner in known.items() if owner != workspace_id)
        if foreign:
            raise Invalid(f"server(s) of another workspace: {', '.join(foreign)}")


def create(
    session: Session, *, data: IdentityProviderCreate, secrets: SecretBox, record_revision: bool = True
) -> IdentityProvider:
    """Register an identity provider; a taken slug or issuer is a :class:`Conflict`."""
    issuer = _issuer_of(data)
    workspace_id = workspaces.get(session, slug=data.workspace).id if data.workspace else None
    if find(session, slug=data.slug) is not None:
        raise Conflict(f"identity provider {data.slug!r} already exists")
    if session.exec(select(IdentityProvider).where(IdentityProvider.issuer == issuer)).first() is not None:
        raise Conflict(f"an identity provider with issuer {issuer!r} already exists")
    _check_servers(session, servers=data.servers, workspace_id=workspace_id)
    secret = data.introspection_client_secret
    provider = IdentityProvider(
        slug=data.slug,
        kind=data.kind,
        workspace_id=workspace_id,
        issuer=issuer,
        keycloak_server_url=data.keycloak_server_url,
        keycloak_realm=data.keycloak_realm,
        audiences=data.audiences,
        jwks_uri=data.jwks_uri,
        algorithms=data.algorithms,
        required_claims=data.required_claims,
        required_scopes=data.required_scopes,
        claim_mapping=data.claim_mapping.model_dump(),
        introspection_endpoint=data.introspection_endpoint,
        introspection_client_id=data.introspection_client_id,
        introspection_secret_encrypted=secrets.encrypt(secret) if secret else "",
        leeway_seconds=data.leeway_seconds,
        admin_login=data.admin_login,
        servers=sorted(set(data.servers)),
    )
    session.add(provider)
    if record_revision:
        revisions.record(session, reason=f"identity provider {data.slug} registered")
    session.flush()
    return provider


def find(session: Session, *, slug: str) -> IdentityProvider | None:
    """The identity provider with ``slug``, or ``None``."""
    return session.exec(select(IdentityProvider).where(IdentityProvider.slug == slug)).first()


def get(session: Session, *, slug: str) -> IdentityProvider:
    """The identity provider with ``slug``; :class:`NotFound` when there is none."""
    provider = find(session, slug=slug)
    if provider is None:
        raise NotFound(f"identity provider {slug!r} does not exist")
    return provider


def list_all(session: Session) -> list[IdentityProvider]:
    """Every identity provider, by slug."""
    return list(session.exec(select(IdentityProvider).order_by(IdentityProvider.slug)))


def open_secret(secrets: SecretBox, provider: IdentityProvider) -> str:
    """The decrypted introspection client secret ("" when none; never log it)."""
    return (
        secrets.decrypt(provider.introspection_secret_encrypted)
        if provider.introspection_secret_encrypted
        else ""
    )


def update(
    session: Session,
    *,
    slug: str,
    data: IdentityProviderUpdate,
    secrets: SecretBox,
    record_revision: bool = True,
) -> tuple[IdentityProvider, bool]:
    """Apply the fields set in ``data``; returns the provider and whether anything changed."""
    provider = get(session, slug=slug)
    fields = data.model_dump(exclude_unset=True, exclude={"introspection_client_secret", "claim_mapping"})
    if data.claim_mapping is not None:
        fields["claim_mapping"] = data.claim_mapping.model_dump()
    if data.servers is not None:
        _check_servers(session, servers=data.servers, workspace_id=provider.workspace_id)
        fields["servers"] = sorted(set(data.servers))
    changed = False
    for name, value in fields.items():
        if value is not None and getattr(provider, name) != value:
            setattr(provider, name, value)
            changed = True
    secret = data.introspection_client_secret
    if secret is not None and open_secret(secrets, provider) != secret:
        provider.introspection_secret_encrypted = secrets.encrypt(secret) if secret else ""
        changed = True
    if changed:
        provider.updated_at = utcnow()
        session.add(provider)
        if record_revision:
            revisions.record(session, reason=f"identity provider {slug} updated")
        session.flush()
    return provider, changed


def delete(session: Session, *, slug: str) -> None:
    """Delete an identity provider; its tokens stop working with the next snapshot."""
    provider = get(session, slug=slug)
    access_refs.forget_provider(session, provider_id=provider.id)  # user identities, grants
    session.delete(provider)
    revisions.record(session, reason=f"identity provider {slug} deleted")
    session.flush()


def to_public(provider: IdentityProvider, *, workspace: str | None) -> IdentityProviderPublic:
    """The API form (whether a secret is set, never the secret)."""
    return IdentityProviderPublic(
        id=provider.id,
        slug=provider.slug,
        kind="keycloak" if provider.kind == "keycloak" else "oidc",
        workspace=workspace,
        issuer=provider.issuer,
        keycloak_server_url=provider.keycloak_server_url,
        keycloak_realm=provider.keycloak_realm,
        audiences=provider.audiences,
        jwks_uri=provider.jwks_uri,
        algorithms=provider.algorithms,
        required_claims=provider.required_claims,
        required_scopes=provider.required_scopes,
        claim_mapping=ClaimMappingModel.model_validate(provider.claim_mapping),
        introspection_endpoint=provider.introspection_endpoint,
        introspection_client_id=provider.introspection_client_id,
        leeway_seconds=provider.leeway_seconds,
        servers=provider.servers,
        has_introspection_secret=bool(provider.introspection_secret_encrypted),
        created_at=provider.created_at,
        updated_at=provider.updated_at,
    )

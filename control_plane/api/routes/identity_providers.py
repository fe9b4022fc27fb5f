"""``/api/v1/identity-providers``: OIDC issuers and Keycloak realms whose tokens authenticate clients."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import Session

from control_plane.api.deps import SessionDep, StateDep
from control_plane.keycloak import KeycloakUnavailable, resolve_realm
from control_plane.models import (
    IdentityProvider,
    IdentityProviderCreate,
    IdentityProviderPublic,
    IdentityProviderUpdate,
)
from control_plane.repos import identity_providers, workspaces

router = APIRouter(prefix="/identity-providers", tags=["identity-providers"])


def _public(session: Session, provider: IdentityProvider) -> IdentityProviderPublic:
    slugs = workspaces.slugs_by_id(session)
    workspace = slugs.get(provider.workspace_id) if provider.workspace_id else None
    return identity_providers.to_public(provider, workspace=workspace)


def _with_realm(body: IdentityProviderCreate) -> IdentityProviderCreate:
    """Fill issuer, JWKS URI and introspection endpoint from the Keycloak realm (python-keycloak)."""
    try:
        realm = resolve_realm(server_url=body.keycloak_server_url, realm=body.keycloak_realm)
    except KeycloakUnavailable as exc:
        raise HTTPException(status_code=status.HTTP_502_BAD_GATEWAY, detail=str(exc)) from exc
    return body.model_copy(
        update={
            "issuer": body.issuer or realm.issuer,
            "jwks_uri": body.jwks_uri or realm.jwks_uri,
            "introspection_endpoint": body.introspection_endpoint or realm.introspection_endpoint,
        }
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register an identity provider",
    responses={status.HTTP_502_BAD_GATEWAY: {"description": "the Keycloak realm could not be read"}},
)
def create_identity_provider(
    session: SessionDep, state: StateDep, body: IdentityProviderCreate
) -> IdentityProviderPublic:
    """Register an OIDC issuer, or a Keycloak realm (its issuer and endpoints are read from the realm)."""
    if body.kind == "keycloak" and body.keycloak_server_url and body.keycloak_realm:
        body = _with_realm(body)
    provider = identity_providers.create(session, data=body, secrets=state.secrets)
    return _public(session, provider)


@router.get("", summary="List identity providers")
def list_identity_providers(session: SessionDep) -> list[IdentityProviderPublic]:
    """Every identity provider, by slug (secrets are never returned)."""
    return [_public(session, p) for p in identity_providers.list_all(session)]


@router.get("/{slug}", summary="Get an identity provider")
def get_identity_provider(session: SessionDep, slug: str) -> IdentityProviderPublic:
    """One identity provider by slug."""
    return _public(session, identity_providers.get(session, slug=slug))


@router.patch("/{slug}", summary="Update an identity provider")
def update_identity_provider(
    session: SessionDep, state: StateDep, slug: str, body: IdentityProviderUpdate
) -> IdentityProviderPublic:
    """Change what the data planes check; absent fields stay as they are."""
    provider, _ = identity_providers.update(session, slug=slug, data=body, secrets=state.secrets)
    return _public(session, provider)


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an identity provider")
def delete_identity_provider(session: SessionDep, slug: str) -> None:
    """Delete an identity provider; its tokens are refused from the next snapshot on."""
    identity_providers.delete(session, slug=slug)

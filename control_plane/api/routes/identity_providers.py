"""``/api/v1/identity-providers``: OIDC issuers and Keycloak realms whose tokens authenticate clients.

A provider that belongs to a workspace is managed by that workspace's admins; one that belongs
to no workspace is organization-level (organization admins only). Only organization-level
providers may log admins in (``admin_login``): a workspace admin must not be able to mint
tokens that open the admin API.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import Session

from control_plane.api.actor import Actor
from control_plane.api.deps import ActorDep, SessionDep, StateDep
from control_plane.keycloak import KeycloakUnavailable, resolve_realm
from control_plane.models import (
    IdentityProvider,
    IdentityProviderCreate,
    IdentityProviderPublic,
    IdentityProviderUpdate,
)
from control_plane.repos import identity_providers, workspaces
from control_plane.repos.errors import Invalid

router = APIRouter(prefix="/identity-providers", tags=["identity-providers"])


def _public(session: Session, provider: IdentityProvider) -> IdentityProviderPublic:
    slugs = workspaces.slugs_by_id(session)
    workspace = slugs.get(provider.workspace_id) if provider.workspace_id else None
    return identity_providers.to_public(provider, workspace=workspace)


def _require_manager(session: Session, actor: Actor, workspace_id: str | None) -> None:
    """Organization admin for an organization-level provider, else the admin of its workspace."""
    if workspace_id is None:
        actor.require_org_admin()
    else:
        actor.require_workspace_admin(workspace_id, workspaces.slugs_by_id(session).get(workspace_id, ""))


def _managed(session: Session, actor: Actor, slug: str) -> IdentityProvider:
    provider = identity_providers.get(session, slug=slug)
    _require_manager(session, actor, provider.workspace_id)
    return provider


def _check_admin_login(admin_login: bool | None, workspace_id: str | None) -> None:
    if admin_login and workspace_id is not None:
        raise Invalid("admin_login is only for identity providers that belong to no workspace")


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
    session: SessionDep, state: StateDep, actor: ActorDep, body: IdentityProviderCreate
) -> IdentityProviderPublic:
    """Register an OIDC issuer, or a Keycloak realm (its issuer and endpoints are read from the realm)."""
    workspace_id = workspaces.get(session, slug=body.workspace).id if body.workspace else None
    _require_manager(session, actor, workspace_id)
    _check_admin_login(body.admin_login, workspace_id)
    if body.kind == "keycloak" and body.keycloak_server_url and body.keycloak_realm:
        body = _with_realm(body)
    provider = identity_providers.create(session, data=body, secrets=state.secrets)
    return _public(session, provider)


@router.get("", summary="List identity providers")
def list_identity_providers(session: SessionDep, actor: ActorDep) -> list[IdentityProviderPublic]:
    """The providers the caller manages, by slug (secrets are never returned)."""
    scope = actor.admin_listing_scope()
    return [
        _public(session, p)
        for p in identity_providers.list_all(session)
        if scope is None or (p.workspace_id is not None and p.workspace_id in scope)
    ]


@router.get("/{slug}", summary="Get an identity provider")
def get_identity_provider(session: SessionDep, actor: ActorDep, slug: str) -> IdentityProviderPublic:
    """One identity provider by slug."""
    return _public(session, _managed(session, actor, slug))


@router.patch("/{slug}", summary="Update an identity provider")
def update_identity_provider(
    session: SessionDep, state: StateDep, actor: ActorDep, slug: str, body: IdentityProviderUpdate
) -> IdentityProviderPublic:
    """Change what the data planes check; absent fields stay as they are."""
    _check_admin_login(body.admin_login, _managed(session, actor, slug).workspace_id)
    provider, _ = identity_providers.update(session, slug=slug, data=body, secrets=state.secrets)
    return _public(session, provider)


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an identity provider")
def delete_identity_provider(session: SessionDep, actor: ActorDep, slug: str) -> None:
    """Delete an identity provider; its tokens are refused from the next snapshot on."""
    _managed(session, actor, slug)
    identity_providers.delete(session, slug=slug)

"""``/api/v1/users``: users of the organization and their identities (organization admins only)."""

from __future__ import annotations

from fastapi import APIRouter, status

from control_plane.api.deps import ActorDep, SessionDep
from control_plane.models.user import (
    UserCreate,
    UserIdentityCreate,
    UserIdentityPublic,
    UserPublic,
    UserUpdate,
)
from control_plane.repos import users

router = APIRouter(prefix="/users", tags=["users"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a user")
def create_user(session: SessionDep, actor: ActorDep, body: UserCreate) -> UserPublic:
    """Create a user of the organization; the email (stored lower-cased) must be unused."""
    actor.require_org_admin()
    return users.to_public(session, [users.create(session, data=body)])[0]


@router.get("", summary="List users")
def list_users(session: SessionDep, actor: ActorDep) -> list[UserPublic]:
    """Every user, by email, with identities and workspace roles."""
    actor.require_org_admin()
    return users.to_public(session, users.list_all(session))


@router.get("/{user}", summary="Get a user")
def get_user(session: SessionDep, actor: ActorDep, user: str) -> UserPublic:
    """One user by id or email."""
    actor.require_org_admin()
    return users.to_public(session, [users.get(session, ref=user)])[0]


@router.patch("/{user}", summary="Update a user")
def update_user(session: SessionDep, actor: ActorDep, user: str, body: UserUpdate) -> UserPublic:
    """Change the name, organization role, or disable / enable the user (their keys and tokens
    are refused while disabled)."""
    actor.require_org_admin()
    found, _ = users.update(session, ref=user, data=body)
    return users.to_public(session, [found])[0]


@router.delete("/{user}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a user")
def delete_user(session: SessionDep, actor: ActorDep, user: str) -> None:
    """Delete a user with their identities, memberships and grants; refused (409) while they own keys."""
    actor.require_org_admin()
    users.delete(session, ref=user)


@router.post("/{user}/identities", status_code=status.HTTP_201_CREATED, summary="Add an identity to a user")
def add_identity(
    session: SessionDep, actor: ActorDep, user: str, body: UserIdentityCreate
) -> UserIdentityPublic:
    """Say that tokens of an identity provider with this subject are this user."""
    actor.require_org_admin()
    identity = users.add_identity(session, ref=user, provider=body.provider, subject=body.subject)
    return UserIdentityPublic(id=identity.id, provider=body.provider, subject=identity.subject)


@router.delete(
    "/{user}/identities/{identity_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an identity from a user",
)
def remove_identity(session: SessionDep, actor: ActorDep, user: str, identity_id: str) -> None:
    """Forget one identity of a user."""
    actor.require_org_admin()
    users.remove_identity(session, ref=user, identity_id=identity_id)

"""Users of the organization and their identities at identity providers.

What data planes enforce about a user (email, disabled, identities) records a config
revision; the display name and the organization role concern only the admin API and do not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete as sql_delete
from sqlalchemy import func
from sqlmodel import Session, col, select

from control_plane.models import (
    AdminToken,
    AgentKey,
    IdentityProvider,
    TeamMember,
    User,
    UserIdentity,
    Workspace,
    WorkspaceMember,
)
from control_plane.models.user import (
    UserCreate,
    UserIdentityPublic,
    UserPublic,
    UserUpdate,
    normalize_email,
)
from control_plane.repos import access_refs, identity_providers, revisions
from control_plane.repos.errors import Conflict, NotFound


def find(session: Session, *, ref: str) -> User | None:
    """The user whose id or (case-insensitive) email is ``ref``, or ``None``."""
    user = session.get(User, ref)
    if user is not None:
        return user
    if "@" not in ref:
        return None
    return session.exec(select(User).where(User.email == ref.strip().lower())).first()


def get(session: Session, *, ref: str) -> User:
    """The user whose id or email is ``ref``; :class:`NotFound` when there is none."""
    user = find(session, ref=ref)
    if user is None:
        raise NotFound(f"user {ref!r} does not exist")
    return user


def create(session: Session, *, data: UserCreate, record_revision: bool = True) -> User:
    """Create a user; a taken email is a :class:`Conflict`."""
    email = normalize_email(data.email)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise Conflict(f"a user with email {email!r} already exists")
    user = User(email=email, name=data.name, org_role=data.org_role, disabled=data.disabled)
    session.add(user)
    if record_revision:
        revisions.record(session, reason=f"user {email} created")
    session.flush()
    return user


def list_all(session: Session) -> list[User]:
    """Every user, by email."""
    return list(session.exec(select(User).order_by(User.email)))


def update(
    session: Session, *, ref: str, data: UserUpdate, record_revision: bool = True
) -> tuple[User, bool]:
    """Apply the fields set in ``data``; returns the user and whether anything changed."""
    user = get(session, ref=ref)
    fields = data.model_dump(exclude_unset=True, exclude_none=True)
    changed = {name for name, value in fields.items() if getattr(user, name) != value}
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        session.add(user)
        # Only "disabled" reaches the data planes; names and org roles are admin-API matters.
        if record_revision and "disabled" in changed:
            revisions.record(
                session, reason=f"user {user.email} {'disabled' if user.disabled else 'enabled'}"
            )
        session.flush()
    return user, bool(changed)


def delete(session: Session, *, ref: str) -> None:
    """Delete a user with their identities, memberships, grants and admin tokens.

    A user who still owns agent keys (revoked ones included) is a :class:`Conflict`: turning
    them into workspace keys would widen what they may do, so they are deleted first.
    """
    user = get(session, ref=ref)
    owned = session.exec(
        select(func.count()).select_from(AgentKey).where(AgentKey.owner_user_id == user.id)
    ).one()
    if owned:
        raise Conflict(f"user {user.email!r} still owns {owned} agent key(s); delete them first")
    access_refs.forget_subject(session, kind="user", subject_id=user.id)
    for table in (UserIdentity, WorkspaceMember, TeamMember, AdminToken):
        session.exec(sql_delete(table).where(col(table.user_id) == user.id))
    session.delete(user)
    revisions.record(session, reason=f"user {user.email} deleted")
    session.flush()


def add_identity(
    session: Session, *, ref: str, provider: str, subject: str, record_revision: bool = True
) -> UserIdentity:
    """Say that ``subject`` at identity provider ``provider`` (slug) is this user."""
    user = get(session, ref=ref)
    found = identity_providers.get(session, slug=provider)
    clash = session.exec(
        select(UserIdentity).where(UserIdentity.provider_id == found.id, UserIdentity.subject == subject)
    ).first()
    if clash is not None:
        if clash.user_id == user.id:
            return clash
        raise Conflict(f"subject {subject!r} at {provider!r} is already another user's identity")
    identity = UserIdentity(user_id=user.id, provider_id=found.id, subject=subject)
    session.add(identity)
    if record_revision:
        revisions.record(session, reason=f"user {user.email} identity at {provider} added")
    session.flush()
    return identity


def remove_identity(session: Session, *, ref: str, identity_id: str, record_revision: bool = True) -> None:
    """Forget one identity of a user."""
    user = get(session, ref=ref)
    identity = session.get(UserIdentity, identity_id)
    if identity is None or identity.user_id != user.id:
        raise NotFound(f"user {user.email!r} has no identity {identity_id!r}")
    session.delete(identity)
    if record_revision:
        revisions.record(session, reason=f"user {user.email} identity removed")
    session.flush()


def identities(
    session: Session, *, user_ids: Sequence[str] | None = None
) -> dict[str, list[UserIdentityPublic]]:
    """User id -> identities (provider slug, subject), for ``user_ids`` or everyone."""
    query = select(UserIdentity, IdentityProvider.slug).join(
        IdentityProvider, col(IdentityProvider.id) == col(UserIdentity.provider_id)
    )
    if user_ids is not None:
        query = query.where(col(UserIdentity.user_id).in_(user_ids))
    found: dict[str, list[UserIdentityPublic]] = defaultdict(list)
    for identity, slug in session.exec(query.order_by(IdentityProvider.slug, UserIdentity.subject)):
        found[identity.user_id].append(
            UserIdentityPublic(id=identity.id, provider=slug, subject=identity.subject)
        )
    return found


def to_public(session: Session, users: Sequence[User]) -> list[UserPublic]:
    """The API form of ``users`` with their identities and workspace roles (two queries)."""
    ids = [u.id for u in users]
    by_user = identities(session, user_ids=ids)
    roles: dict[str, dict[str, str]] = defaultdict(dict)
    query = (
        select(WorkspaceMember.user_id, Workspace.slug, WorkspaceMember.role)
        .join(Workspace, col(Workspace.id) == col(WorkspaceMember.workspace_id))
        .where(col(WorkspaceMember.user_id).in_(ids))
    )
    for user_id, slug, role in session.exec(query):
        roles[user_id][slug] = role
    return [
        UserPublic(
            id=u.id,
            email=u.email,
            name=u.name,
            org_role=u.org_role,
            disabled=u.disabled,
            created_at=u.created_at,
            identities=by_user.get(u.id, []),
            workspaces=dict(sorted(roles[u.id].items())),
        )
        for u in users
    ]

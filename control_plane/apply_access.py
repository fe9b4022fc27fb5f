"""Declarative config for access control: the ``users``, ``members``, ``teams`` and ``grants``
sections of ``gateway.yaml`` (``control_plane.apply`` calls these in its one transaction).

Items are matched by identity (users by email, members by workspace + user, teams by
workspace + slug, grants by the server's workspace + name) and created or updated to match;
nothing absent is deleted. Lists inside an item (a user's ``identities``, a team's
``members``) are the item's whole state when given, and left alone when omitted.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from control_plane.crypto import SecretBox
from control_plane.models.authn_webhook import AuthnWebhookSet
from control_plane.models.common import SLUG_PATTERN
from control_plane.models.grant import AuthzWebhookSet, GrantCreate, GrantUpdate
from control_plane.models.team import ClaimValue, TeamCreate, TeamUpdate
from control_plane.models.user import OrgRole, UserCreate, UserUpdate, WorkspaceRole, normalize_email
from control_plane.repos import authn_webhooks, grants, members, teams, users, webhooks, workspaces
from control_plane.repos.errors import Conflict

Action = Literal["created", "updated", "unchanged"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApplyIdentity(_Strict):
    provider: str = Field(description="identity provider slug")
    subject: str = Field(min_length=1, max_length=255)


class ApplyUser(_Strict):
    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(default=None, max_length=200, description="kept as it is when omitted")
    org_role: OrgRole | None = Field(
        default=None, description="kept as it is when omitted (none when created)"
    )
    disabled: bool | None = None
    identities: list[ApplyIdentity] | None = Field(default=None, description="all of them; omitted: kept")


class ApplyMember(_Strict):
    workspace: str
    user: str = Field(description="email or id")
    role: WorkspaceRole = "member"


class ApplyTeam(_Strict):
    workspace: str
    slug: str = Field(pattern=SLUG_PATTERN, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    claim_values: list[ClaimValue] = Field(default_factory=list)
    members: list[str] | None = Field(default=None, description="emails or ids, all of them; omitted: kept")


class ApplyWebhook(AuthzWebhookSet):
    workspace: str


class ApplyAuthnWebhook(AuthnWebhookSet):
    workspace: str


class AppliedUser(BaseModel):
    email: str
    action: Action


class AppliedMember(BaseModel):
    workspace: str
    user: str
    action: Action


class AppliedTeam(BaseModel):
    workspace: str
    slug: str
    action: Action


class AppliedGrant(BaseModel):
    name: str
    server: str
    action: Action


class AppliedWebhook(BaseModel):
    workspace: str
    action: Action


def _action(created: bool, changed: bool) -> Action:
    return "created" if created else "updated" if changed else "unchanged"


def apply_user(session: Session, item: ApplyUser) -> AppliedUser:
    """Create or update one user and, when given, make its identities exactly those listed."""
    email = normalize_email(item.email)
    user = users.find(session, ref=email)
    created = user is None
    changed = False
    if user is None:
        data = UserCreate(
            email=email, name=item.name or "", org_role=item.org_role or "none", disabled=bool(item.disabled)
        )
        user = users.create(session, data=data, record_revision=False)
    else:
        update = UserUpdate(name=item.name, org_role=item.org_role, disabled=item.disabled)
        _, changed = users.update(session, ref=user.id, data=update, record_revision=False)
    if item.identities is not None:
        changed |= _set_identities(session, user_id=user.id, wanted=item.identities)
    return AppliedUser(email=email, action=_action(created, changed))


def _set_identities(session: Session, *, user_id: str, wanted: list[ApplyIdentity]) -> bool:
    current = {
        (i.provider, i.subject): i.id for i in users.identities(session, user_ids=[user_id]).get(user_id, [])
    }
    desired = {(i.provider, i.subject) for i in wanted}
    for pair, identity_id in current.items():
        if pair not in desired:
            users.remove_identity(session, ref=user_id, identity_id=identity_id, record_revision=False)
    for provider, subject in sorted(desired - set(current)):
        users.add_identity(session, ref=user_id, provider=provider, subject=subject, record_revision=False)
    return desired != set(current)


def apply_member(session: Session, item: ApplyMember) -> AppliedMember:
    """Make a user a member of a workspace in the given role."""
    workspace = workspaces.get(session, slug=item.workspace)
    user = users.get(session, ref=item.user)
    if not members.is_member(session, workspace_id=workspace.id, user_id=user.id):
        members.add(session, workspace=workspace, user_ref=user.id, role=item.role, record_revision=False)
        return AppliedMember(workspace=item.workspace, user=user.email, action="created")
    _, _, changed = members.set_role(session, workspace=workspace, user_ref=user.id, role=item.role)
    return AppliedMember(workspace=item.workspace, user=user.email, action=_action(False, changed))


def apply_team(session: Session, item: ApplyTeam) -> AppliedTeam:
    """Create or update a team and, when given, make its members exactly those listed."""
    workspace = workspaces.get(session, slug=item.workspace)
    team = teams.find(session, workspace_id=workspace.id, slug=item.slug)
    created = team is None
    changed = False
    if team is None:
        data = TeamCreate(
            workspace=item.workspace, slug=item.slug, name=item.name or "", claim_values=item.claim_values
        )
        team = teams.create(session, data=data, record_revision=False)
    else:
        update = TeamUpdate(name=item.name, claim_values=item.claim_values)
        _, changed = teams.update(session, team_id=team.id, data=update, record_revision=False)
    if item.members is not None:
        changed |= teams.set_members(session, team=team, user_refs=item.members)
    return AppliedTeam(workspace=item.workspace, slug=item.slug, action=_action(created, changed))


def apply_grant(session: Session, item: GrantCreate) -> AppliedGrant:
    """Create or update a grant (its server and subject are fixed once created)."""
    server = grants.server_named(session, item.server)
    existing = grants.find(session, workspace_id=server.workspace_id, name=item.name)
    if existing is None:
        grants.create(session, data=item, record_revision=False)
        return AppliedGrant(name=item.name, server=item.server, action="created")
    subject = grants.resolve_subject(session, subject=item.subject, server=server)
    if (existing.server_id, existing.subject_kind, existing.subject_id) != (
        server.id,
        item.subject.kind,
        subject,
    ):
        raise Conflict(f"grant {item.name!r} exists for another server or subject; grants do not move")
    update = GrantUpdate.model_validate(item.model_dump(exclude={"name", "server", "subject"}))
    _, changed = grants.update(session, grant_id=existing.id, data=update, record_revision=False)
    return AppliedGrant(name=item.name, server=item.server, action=_action(False, changed))


def apply_webhook(session: Session, item: ApplyWebhook, secrets: SecretBox) -> AppliedWebhook:
    """Set a workspace's authorization webhook (``headers`` omitted: the stored ones are kept)."""
    workspace = workspaces.get(session, slug=item.workspace)
    created = webhooks.find(session, workspace=workspace) is None
    data = AuthzWebhookSet.model_validate(item.model_dump(exclude={"workspace"}, exclude_unset=True))
    _, changed = webhooks.put(session, workspace=workspace, data=data, secrets=secrets, record_revision=False)
    return AppliedWebhook(workspace=item.workspace, action=_action(created, changed))


def apply_authn_webhook(session: Session, item: ApplyAuthnWebhook, secrets: SecretBox) -> AppliedWebhook:
    """Set a workspace's authentication webhook (``headers`` omitted: the stored ones are kept)."""
    workspace = workspaces.get(session, slug=item.workspace)
    created = authn_webhooks.find(session, workspace=workspace) is None
    data = AuthnWebhookSet.model_validate(item.model_dump(exclude={"workspace"}, exclude_unset=True))
    _, changed = authn_webhooks.put(
        session, workspace=workspace, data=data, secrets=secrets, record_revision=False
    )
    return AppliedWebhook(workspace=item.workspace, action=_action(created, changed))

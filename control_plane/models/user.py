"""Users of the organization and their workspace memberships.

One control plane is one organization. A user's ``org_role`` gives organization-wide admin
rights (``admin``) or read-only audit rights (``auditor``); per workspace a membership gives
``admin``, ``member`` or ``auditor``. Users also come from IdP claims: a token's subject (per
identity provider) or verified email finds the user, and claim values put them in teams.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from control_plane.models.common import new_id, utcnow

OrgRole = Literal["admin", "auditor", "none"]
WorkspaceRole = Literal["admin", "member", "auditor"]


class UserBase(SQLModel):
    email: str = Field(index=True, unique=True, max_length=320, min_length=3)
    name: str = Field(default="", max_length=200)
    org_role: str = Field(default="none", max_length=16, description="admin | auditor | none")
    disabled: bool = Field(default=False, description="a disabled user's tokens and keys are refused")


class User(UserBase, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: str = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class UserIdentity(SQLModel, table=True):
    """A subject at an identity provider that is this user (``sub`` of the provider's tokens)."""

    __tablename__ = "user_identity"
    __table_args__ = (UniqueConstraint("provider_id", "subject"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    user_id: str = Field(foreign_key="app_user.id", index=True)
    provider_id: str = Field(foreign_key="identityprovider.id", index=True)
    subject: str = Field(max_length=255)


class WorkspaceMember(SQLModel, table=True):
    """A user's role in a workspace."""

    __tablename__ = "workspace_member"

    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True)
    user_id: str = Field(foreign_key="app_user.id", primary_key=True, index=True)
    role: str = Field(default="member", max_length=16, description="admin | member | auditor")
    created_at: datetime = Field(default_factory=utcnow)


def normalize_email(value: str) -> str:
    """An email address trimmed and lower-cased; refuses text that is not ``local@domain``."""
    address = value.strip().lower()
    local, at, domain = address.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in address):
        raise ValueError("not an email address (local@domain)")
    return address


class UserCreate(UserBase):
    org_role: OrgRole = "none"

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)


class UserUpdate(SQLModel):
    """Fields a PATCH may change; absent fields stay as they are."""

    name: str | None = Field(default=None, max_length=200)
    org_role: OrgRole | None = None
    disabled: bool | None = None


class UserIdentityCreate(SQLModel):
    provider: str = Field(min_length=1, max_length=64, description="slug of the identity provider")
    subject: str = Field(min_length=1, max_length=255, description="the user's subject in its tokens")


class UserIdentityPublic(SQLModel):
    id: str
    provider: str = Field(description="slug of the identity provider")
    subject: str


class UserPublic(UserBase):
    id: str
    created_at: datetime
    identities: list[UserIdentityPublic] = Field(default_factory=list)
    workspaces: dict[str, str] = Field(
        default_factory=dict, description="workspace slug -> role (admin | member | auditor)"
    )


class MemberCreate(SQLModel):
    user: str = Field(min_length=1, max_length=320, description="user id or email")
    role: WorkspaceRole = "member"


class MemberUpdate(SQLModel):
    role: WorkspaceRole


class MemberPublic(SQLModel):
    workspace: str
    user_id: str
    email: str
    name: str
    role: WorkspaceRole
    created_at: datetime

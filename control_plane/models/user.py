"""Users of the organization and their workspace memberships.

One control plane is one organization. A user's ``org_role`` gives organization-wide admin
rights (``admin``) or read-only audit rights (``auditor``); per workspace a membership gives
``admin``, ``member`` or ``auditor``. Users also come from IdP claims: a token's subject (per
identity provider) or verified email finds the user, and claim values put them in teams.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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

"""Teams of a workspace: explicit members, and IdP claim values whose holders are members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from control_plane.models.common import SLUG_PATTERN, new_id, utcnow


class Team(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    slug: str = Field(max_length=64, schema_extra={"pattern": SLUG_PATTERN})
    name: str = Field(default="", max_length=200)
    claim_values: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """IdP groups or roles whose holders are members of this team."""
    created_at: datetime = Field(default_factory=utcnow)


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"

    team_id: str = Field(foreign_key="team.id", primary_key=True)
    user_id: str = Field(foreign_key="app_user.id", primary_key=True, index=True)


ClaimValue = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TeamCreate(SQLModel):
    workspace: str = Field(description="slug of the owning workspace")
    slug: str = Field(max_length=64, schema_extra={"pattern": SLUG_PATTERN})
    name: str = Field(default="", max_length=200)
    claim_values: list[ClaimValue] = Field(
        default_factory=list, max_length=100, description="IdP groups or roles whose holders are members"
    )


class TeamUpdate(SQLModel):
    """Fields a PATCH may change; absent fields stay as they are."""

    slug: str | None = Field(default=None, max_length=64, schema_extra={"pattern": SLUG_PATTERN})
    name: str | None = Field(default=None, max_length=200)
    claim_values: list[ClaimValue] | None = Field(default=None, max_length=100)


class TeamPublic(SQLModel):
    id: str
    workspace: str
    slug: str
    name: str
    claim_values: list[str]
    created_at: datetime


class TeamMemberCreate(SQLModel):
    user: str = Field(min_length=1, max_length=320, description="user id or email")


class TeamMemberPublic(SQLModel):
    user_id: str
    email: str
    name: str

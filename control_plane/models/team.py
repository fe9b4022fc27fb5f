"""Teams of a workspace: explicit members, and IdP claim values whose holders are members."""

from __future__ import annotations

from datetime import datetime

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

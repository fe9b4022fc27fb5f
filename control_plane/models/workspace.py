"""Workspaces: the unit that owns servers and agent keys."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from control_plane.models.common import SLUG_PATTERN, new_id, utcnow


class WorkspaceBase(SQLModel):
    slug: str = Field(index=True, unique=True, max_length=64, schema_extra={"pattern": SLUG_PATTERN})
    name: str = Field(default="", max_length=200)


class WorkspaceCreate(WorkspaceBase):
    pass


class Workspace(WorkspaceBase, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class WorkspacePublic(WorkspaceBase):
    id: str
    created_at: datetime

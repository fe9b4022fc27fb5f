"""Access grants: a workspace, team, user, agent or identity provider may (or may not) use a
server, or some of its tools, prompts and resources, optionally under claim conditions.

A grant belongs to the workspace of its server: only that workspace's admins manage it. The
selections, annotations and conditions are stored as JSON exactly in the shape of
``shared.snapshot.access.Grant``, which is what the data plane evaluates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from control_plane.models.common import new_id, utcnow


class Grant(SQLModel, table=True):
    __tablename__ = "access_grant"  # "grant" is reserved in SQL
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    """The server's workspace, which owns the grant."""
    name: str = Field(max_length=128)
    server_id: str = Field(foreign_key="server.id", index=True)
    subject_kind: str = Field(max_length=16, description="agent | user | team | workspace | provider")
    subject_id: str = Field(
        max_length=64, index=True, description="id of the key, user, team, workspace or provider"
    )
    effect: str = Field(default="allow", max_length=8)
    tools: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict[str, bool] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prompts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    resources: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    conditions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class AuthzWebhook(SQLModel, table=True):
    """The authorization webhook of a workspace: asked before each call the grants allowed."""

    __tablename__ = "authz_webhook"

    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True)
    url: str = Field(max_length=2000)
    timeout_seconds: float = 2.0
    cache_seconds: float = 30.0
    failure_mode: str = Field(default="deny", max_length=8)
    headers_encrypted: str = Field(
        default="", description="JSON of header -> value, encrypted with the master key"
    )
    updated_at: datetime = Field(default_factory=utcnow)

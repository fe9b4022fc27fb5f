"""Agent API keys: shown once at creation, stored only as a hash, scoped to servers and tools."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from control_plane.models.common import new_id, utcnow


class KeyScope(SQLModel):
    """What a key may use: whole servers, or only some tools of a server."""

    servers: list[str] = Field(
        default_factory=list, description="server slugs whose every tool the key may use"
    )
    tools: dict[str, list[str]] = Field(
        default_factory=dict, description="server slug -> the only tools the key may use there"
    )


class AgentKeyBase(SQLModel):
    name: str = Field(max_length=128)
    expires_at: datetime | None = None


class AgentKeyCreate(AgentKeyBase, KeyScope):
    workspace: str = Field(description="slug of the owning workspace")
    owner: str | None = Field(
        default=None,
        max_length=320,
        description="user id or email: the key acts as this member of the workspace, limited by its "
        "scope when one is set; omitted: the workspace owns the key and its scope grants access",
    )
    secret: str | None = Field(
        default=None, description="development only: use this secret instead of generating one", min_length=24
    )


class AgentKeyUpdate(SQLModel):
    """Fields a PATCH may change; absent fields stay as they are (``expires_at: null`` clears it)."""

    expires_at: datetime | None = None
    servers: list[str] | None = Field(default=None, description="replaces the whole-server scope")
    tools: dict[str, list[str]] | None = Field(default=None, description="replaces the per-tool scope")


class AgentKey(AgentKeyBase, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    owner_user_id: str | None = Field(default=None, foreign_key="app_user.id", index=True)
    """The user the key acts as; ``None`` for a key owned by its workspace."""
    key_hash: str = Field(index=True, unique=True, max_length=64)
    prefix: str = Field(max_length=16)
    scope_servers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scope_tools: dict[str, list[str]] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class AgentKeyPublic(AgentKeyBase, KeyScope):
    id: str
    workspace: str
    owner: str | None = Field(default=None, description="id of the user the key acts as; null: the workspace")
    prefix: str = Field(description="first characters of the secret, to recognise it")
    created_at: datetime
    revoked_at: datetime | None


class AgentKeyCreated(AgentKeyPublic):
    secret: str = Field(description="the key secret; shown only in this response")

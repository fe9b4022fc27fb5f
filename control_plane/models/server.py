"""Registered upstream MCP servers and their discovered tool catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from control_plane.models.common import SLUG_PATTERN, new_id, utcnow
from control_plane.models.upstream_auth import NoAuthIn, UpstreamAuthIn, UpstreamAuthPublic
from shared.snapshot.credentials import IdentityForwarding

TransportName = Literal["streamable-http"]


class ServerBase(SQLModel):
    slug: str = Field(index=True, unique=True, max_length=64, schema_extra={"pattern": SLUG_PATTERN})
    url: str = Field(max_length=2000)
    transport: str = Field(default="streamable-http", max_length=32)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)


class ServerCreate(ServerBase):
    workspace: str = Field(description="slug of the owning workspace")
    transport: TransportName = "streamable-http"
    headers: dict[str, str] = Field(
        default_factory=dict, description="static upstream headers (credentials); write-only, never returned"
    )
    auth: UpstreamAuthIn = Field(
        default_factory=NoAuthIn, description="upstream credential; secrets write-only"
    )
    identity: IdentityForwarding = Field(
        default_factory=IdentityForwarding, description="how the caller's identity is told to the upstream"
    )
    discover: bool = Field(default=True, description="fetch the tool catalog from the upstream now")


class ServerUpdate(SQLModel):
    url: str | None = None
    transport: TransportName | None = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    headers: dict[str, str] | None = Field(
        default=None, description="replaces all static headers; write-only"
    )
    auth: UpstreamAuthIn | None = Field(default=None, description="replaces the upstream credential")
    identity: IdentityForwarding | None = Field(default=None, description="replaces identity forwarding")


class Server(ServerBase, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    headers_encrypted: str = Field(
        default="", description="JSON of header values, encrypted with the master key"
    )
    header_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    auth: dict[str, Any] = Field(
        default_factory=lambda: {"type": "none"},
        sa_column=Column(JSON, nullable=False),
        description="the upstream credential without its secret (UpstreamAuthPublic)",
    )
    auth_secret_encrypted: str = Field(
        default="", description="the credential's secret (token, value, client_secret), encrypted"
    )
    identity: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False), description="IdentityForwarding"
    )
    discovery_error: str = Field(default="", max_length=2000)
    discovered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ServerPublic(ServerBase):
    id: str
    workspace: str
    header_names: list[str] = Field(
        description="names of the static upstream headers (values are write-only)"
    )
    auth: UpstreamAuthPublic = Field(description="the upstream credential's type and non-secret fields")
    identity: IdentityForwarding
    discovery_error: str
    discovered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Tool(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("server_id", "name"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    server_id: str = Field(foreign_key="server.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=128)
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    definition_hash: str = Field(default="", max_length=64)
    discovered_at: datetime = Field(default_factory=utcnow)


class ToolPublic(SQLModel):
    name: str
    description: str
    input_schema: dict[str, Any]
    annotations: dict[str, Any]
    definition_hash: str
    discovered_at: datetime

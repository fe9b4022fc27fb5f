"""Audit events as stored by the control plane (one per JSON-RPC request through a data plane)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class AuditEventBase(SQLModel):
    event_id: str = Field(max_length=64, unique=True, index=True)
    time: datetime = Field(index=True)
    node_id: str = Field(default="", max_length=128)
    snapshot_version: str = Field(default="", max_length=64)
    workspace: str = Field(default="", max_length=64)
    key_id: str = Field(default="", max_length=64, index=True)
    key_name: str = Field(default="", max_length=128)
    server: str = Field(default="", max_length=64, index=True)
    method: str = Field(default="", max_length=128)
    tool: str = Field(default="", max_length=128, index=True)
    status: str = Field(default="", max_length=32, index=True)
    http_status: int = 0
    error_code: int = 0
    reason: str = Field(default="", max_length=2000)
    latency_ms: float = 0.0
    request_id: str = Field(default="", max_length=128)
    rule: str = Field(default="", max_length=200)
    user_id: str = Field(default="", max_length=64, index=True)
    team_ids: str = Field(default="", max_length=2000, description="comma-separated team ids")
    teams: str = Field(default="", max_length=2000, description="comma-separated team slugs")
    identity_provider: str = Field(
        default="", max_length=128, description="IdP slug, or authn-webhook:<workspace>"
    )
    via: str = Field(
        default="",
        max_length=64,
        description="the virtual server the request came through (server and tool are then the member's)",
    )


class AuditEvent(AuditEventBase, table=True):
    __tablename__ = "audit_event"

    seq: int | None = Field(default=None, primary_key=True)
    """Ingest order; the cursor of the listing API."""


class AuditEventPublic(AuditEventBase):
    seq: int

"""Data-plane groups (a region or a customer site) and the data planes that joined them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from control_plane.models.common import SLUG_PATTERN, new_id, utcnow


class DataPlaneGroup(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64, schema_extra={"pattern": SLUG_PATTERN})
    public_key: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="X25519 JWK secrets are sealed to",
    )
    identity_key_encrypted: str = Field(
        default="", description="Ed25519 private JWK signing identity JWTs, encrypted with the master key"
    )
    identity_public_key: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="the public half of the identity key, published in the JWKS",
    )
    created_at: datetime = Field(default_factory=utcnow)


class DataPlaneGroupPublic(SQLModel):
    id: str
    name: str
    public_key: dict[str, Any]
    created_at: datetime


class DataPlane(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    node_id: str = Field(index=True, unique=True, max_length=128)
    group: str = Field(index=True, max_length=64)
    hostname: str = Field(default="", max_length=255)
    software_version: str = Field(default="", max_length=64)
    connected: bool = False
    applied_version: str = Field(default="", max_length=64)
    applied_hash: str = Field(default="", max_length=64)
    last_seen: datetime = Field(default_factory=utcnow)
    nack_version: str = Field(default="", max_length=64)
    nack_reason: str = Field(default="", max_length=4000)
    nack_at: datetime | None = None


class DataPlanePublic(SQLModel):
    node_id: str
    group: str
    hostname: str
    software_version: str
    connected: bool
    applied_version: str
    applied_hash: str
    last_seen: datetime
    nack_version: str
    nack_reason: str
    nack_at: datetime | None

"""Admin API tokens: each acts as its user, stored only as a SHA-256 hash."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from control_plane.models.common import new_id, utcnow


class AdminToken(SQLModel, table=True):
    """A token for the admin API that acts as its user (stored as a SHA-256 hash only)."""

    __tablename__ = "admin_token"

    id: str = Field(default_factory=new_id, primary_key=True)
    user_id: str = Field(foreign_key="app_user.id", index=True)
    name: str = Field(max_length=128)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class AdminTokenCreate(SQLModel):
    name: str = Field(min_length=1, max_length=128)
    user_id: str | None = Field(
        default=None,
        description="the user the token acts as; omitted: the caller (org admins may name anyone)",
    )
    expires_at: datetime | None = Field(default=None, description="omitted: the token never expires")


class AdminTokenPublic(SQLModel):
    id: str
    name: str
    user_id: str
    prefix: str = Field(description="first characters of the token, to recognise it")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="updated at most once a minute")


class AdminTokenCreated(AdminTokenPublic):
    token: str = Field(description="the bearer token; shown only in this response")

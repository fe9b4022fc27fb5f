"""Per-user OAuth connections to upstream servers, and the pending authorizations that make them.

A :class:`UserConnection` is one user's account at one server's authorization server: the
refresh token and the current access token, both encrypted with the master key (never in
clear, never returned by the API). An :class:`OAuthAuthorization` is a started connect flow:
the SHA-256 of its random ``state`` (the state itself is only in the authorization URL), the
PKCE verifier encrypted, and a short expiry; the callback consumes it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from control_plane.models.common import new_id, utcnow

ConnectionStatus = Literal["connected", "needs_reconnect"]


class UserConnection(SQLModel, table=True):
    """One user's connection to one ``oauth2_user`` server (tokens encrypted at rest)."""

    __tablename__ = "user_connection"
    __table_args__ = (UniqueConstraint("user_id", "server_id"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    user_id: str = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    server_id: str = Field(foreign_key="server.id", index=True, ondelete="CASCADE")
    status: str = Field(default="connected", max_length=32, description="connected | needs_reconnect")
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    refresh_token_encrypted: str = Field(default="", description="encrypted with the master key")
    access_token_encrypted: str = Field(default="", description="encrypted with the master key")
    access_expires_at: datetime | None = None
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    refreshed_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class OAuthAuthorization(SQLModel, table=True):
    """A started connect flow, consumed once by the callback (or dropped when expired)."""

    __tablename__ = "oauth_authorization"

    state_hash: str = Field(primary_key=True, max_length=64, description="SHA-256 of the state (hex)")
    user_id: str = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    server_id: str = Field(foreign_key="server.id", index=True, ondelete="CASCADE")
    verifier_encrypted: str = Field(description="the PKCE code verifier, encrypted with the master key")
    redirect_uri: str = Field(max_length=2000)
    expires_at: datetime
    created_at: datetime = Field(default_factory=utcnow)


class ConnectionStarted(SQLModel):
    """Where to send the user's browser to connect their account."""

    server: str
    authorization_url: str = Field(description="open in a browser; valid once, for a few minutes")
    expires_at: datetime


class ConnectionPublic(SQLModel):
    """A connection as the API shows it: never a token."""

    server: str
    user_id: str
    email: str
    status: ConnectionStatus
    scopes: list[str]
    access_expires_at: datetime | None
    last_error: str
    created_at: datetime
    refreshed_at: datetime | None

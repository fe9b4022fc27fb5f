"""The authentication webhook of a workspace: an HTTPS endpoint that verifies bearer credentials
the gateway does not know (neither a gateway key nor a token of an identity provider).

Header values are secrets (the webhook's own API key, say): stored encrypted with the master key,
write-only in the API. The URL must be https (plain http only toward a loopback address), since
the webhook receives the client's credential.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from control_plane.models.common import utcnow
from shared.snapshot.schema import AuthnFailureMode, authn_webhook_url_problem


class AuthnWebhook(SQLModel, table=True):
    """The authentication webhook of a workspace (at most one)."""

    __tablename__ = "authn_webhook"

    workspace_id: str = Field(foreign_key="workspace.id", primary_key=True)
    url: str = Field(max_length=2000)
    timeout_seconds: float = 2.0
    max_cache_seconds: float = 60.0
    failure_mode: str = Field(default="deny", max_length=16)
    headers_encrypted: str = Field(
        default="", description="JSON of header -> value, encrypted with the master key"
    )
    updated_at: datetime = Field(default_factory=utcnow)


class AuthnWebhookSet(SQLModel):
    """The authentication webhook of a workspace (PUT replaces it)."""

    model_config = {"extra": "forbid"}

    url: str = Field(
        max_length=2000,
        description="https endpoint asked to verify unknown credentials (http only toward loopback)",
    )
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    max_cache_seconds: float = Field(
        default=60.0, ge=0, le=3600, description="upper bound of an answer's ttl (answers are cached)"
    )
    failure_mode: AuthnFailureMode = Field(
        default="deny",
        description="when the webhook cannot answer: deny (401 invalid_token) or unavailable (503); "
        "never fail-open",
    )
    headers: dict[str, str] | None = Field(
        default=None, description="sent to the webhook (secrets); write-only; omitted keeps the stored ones"
    )

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        problem = authn_webhook_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class AuthnWebhookPublic(SQLModel):
    workspace: str
    url: str
    timeout_seconds: float
    max_cache_seconds: float
    failure_mode: AuthnFailureMode
    header_names: list[str] = Field(description="names of the headers sent (values are write-only)")
    updated_at: datetime

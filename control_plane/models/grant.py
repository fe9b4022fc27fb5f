"""Access grants: a workspace, team, user, agent or identity provider may (or may not) use a
server, or some of its tools, prompts and resources, optionally under claim conditions.

A grant belongs to the workspace of its server: only that workspace's admins manage it. The
selections, annotations and conditions are stored as JSON exactly in the shape of
``shared.snapshot.access.Grant``, which is what the data plane evaluates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import StringConstraints, field_validator, model_validator
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from control_plane.models.common import new_id, utcnow
from shared.snapshot.access import Effect, SubjectKind


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


# --- API models ---------------------------------------------------------------------------

ItemName = Annotated[str, StringConstraints(min_length=1, max_length=500)]
"""A tool or prompt name, or a resource URI; shell-style wildcards (``*``, ``?``, ``[...]``) allowed."""
AnnotationHint = Literal["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]
ConditionOp = Literal["equals", "contains", "in", "present"]


class _Exact(SQLModel):
    # A misspelt field ("tool", "includes") must be an error, never a silently wider grant.
    model_config = {"extra": "forbid"}


class SelectionModel(_Exact):
    """Which names a grant covers: ``include`` ``null`` means all; ``exclude`` is taken away."""

    include: list[ItemName] | None = Field(default=None, max_length=1000)
    exclude: list[ItemName] = Field(default_factory=list, max_length=1000)


class ConditionModel(_Exact):
    """A claim the caller's token (or user) must satisfy for the grant to apply."""

    claim: str = Field(min_length=1, max_length=200, description="claim name or dotted path")
    op: ConditionOp = "equals"
    value: str | list[ItemName] = Field(
        default="", description="equals: a string; contains: a string or a list (any); in: a list"
    )

    @model_validator(mode="after")
    def _value_fits_op(self) -> ConditionModel:
        if self.op == "present":
            self.value = ""
        elif self.op == "in" and (not isinstance(self.value, list) or not self.value):
            raise ValueError("op 'in' needs a non-empty list value")
        elif self.op == "equals" and (not isinstance(self.value, str) or not self.value):
            raise ValueError("op 'equals' needs a non-empty string value")
        elif self.op == "contains" and not self.value:
            raise ValueError("op 'contains' needs a value")
        return self


class GrantRules(_Exact):
    """What a grant allows or denies (shared by create and public forms)."""

    effect: Effect = "allow"
    tools: SelectionModel = Field(default_factory=SelectionModel)
    annotations: dict[AnnotationHint, bool] = Field(
        default_factory=dict, description="MCP tool hints a covered tool must have, e.g. readOnlyHint: true"
    )
    prompts: SelectionModel = Field(default_factory=SelectionModel)
    resources: SelectionModel = Field(default_factory=SelectionModel)
    conditions: list[ConditionModel] = Field(
        default_factory=list, max_length=50, description="all must hold for the grant to apply"
    )


class GrantSubjectRef(_Exact):
    """Who a grant is for, as a request names it."""

    kind: SubjectKind
    id: str = Field(
        min_length=1,
        max_length=320,
        description="agent: key id or name; user: id or email; team: id or slug; "
        "workspace: slug or id; provider: identity provider slug or id",
    )


class GrantSubjectPublic(SQLModel):
    kind: SubjectKind
    id: str
    name: str = Field(description="key name, user email, team / workspace / provider slug")


class GrantCreate(GrantRules):
    name: str = Field(min_length=1, max_length=128, description="unique in the server's workspace")
    server: str = Field(description="slug of the server the grant is about")
    subject: GrantSubjectRef


class GrantUpdate(_Exact):
    """Fields a PATCH may change (each replaces the stored value); server and subject are fixed."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    effect: Effect | None = None
    tools: SelectionModel | None = None
    annotations: dict[AnnotationHint, bool] | None = None
    prompts: SelectionModel | None = None
    resources: SelectionModel | None = None
    conditions: list[ConditionModel] | None = Field(default=None, max_length=50)


class GrantPublic(GrantRules):
    id: str
    name: str
    workspace: str
    server: str
    subject: GrantSubjectPublic
    created_at: datetime


FailureMode = Literal["deny", "allow"]


class AuthzWebhookSet(_Exact):
    """The authorization webhook of a workspace (PUT replaces it)."""

    url: str = Field(max_length=2000, description="http(s) endpoint asked for each allowed call")
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    failure_mode: FailureMode = Field(
        default="deny", description="what a call gets when the webhook does not answer in time"
    )
    headers: dict[str, str] | None = Field(
        default=None, description="sent to the webhook (secrets); write-only; omitted keeps the stored ones"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the webhook URL must be an http(s) URL with a host")
        return value


class AuthzWebhookPublic(SQLModel):
    workspace: str
    url: str
    timeout_seconds: float
    cache_seconds: float
    failure_mode: FailureMode
    header_names: list[str] = Field(description="names of the headers sent (values are write-only)")
    updated_at: datetime

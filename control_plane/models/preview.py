"""The access decision preview: ask "may this caller use this?" without calling anything."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import model_validator
from sqlmodel import Field, SQLModel


class KeyCaller(SQLModel):
    """An agent key, as it would authenticate to the data plane."""

    kind: Literal["key"]
    id: str = Field(min_length=1, max_length=64, description="the key's id")


class UserCaller(SQLModel):
    """A user with their workspaces and teams (as their own keys without a scope see them)."""

    kind: Literal["user"]
    id: str = Field(min_length=1, max_length=320, description="user id or email")


class TokenCaller(SQLModel):
    """An identity provider's token, given by the claims the data plane would read from it."""

    kind: Literal["token"]
    provider: str = Field(min_length=1, max_length=64, description="slug of the identity provider")
    subject: str = Field(min_length=1, max_length=255)
    email: str = Field(default="", max_length=320)
    groups: list[str] = Field(default_factory=list, max_length=500)
    roles: list[str] = Field(default_factory=list, max_length=500)
    team: str = Field(default="", max_length=200)
    claims: dict[str, Any] = Field(
        default_factory=dict, description="further claims, for claim conditions (e.g. department)"
    )


PreviewCaller = Annotated[KeyCaller | UserCaller | TokenCaller, Field(discriminator="kind")]


class PreviewRequest(SQLModel):
    """Who, which server, and optionally which tool, prompt or resource (at most one)."""

    caller: PreviewCaller
    server: str = Field(min_length=1, max_length=64, description="server slug")
    tool: str | None = Field(default=None, max_length=500)
    prompt: str | None = Field(default=None, max_length=500)
    resource: str | None = Field(default=None, max_length=2000, description="resource URI")

    @model_validator(mode="after")
    def _one_item(self) -> PreviewRequest:
        if sum(item is not None for item in (self.tool, self.prompt, self.resource)) > 1:
            raise ValueError("name at most one of tool, prompt, resource")
        return self


class PreviewAnswer(SQLModel):
    """The decision the data planes would make with the current configuration."""

    allowed: bool
    rule: str = Field(description="the rule that decided: grant:<name>, key-scope, default-deny, ...")
    reason: str = Field(description="why, in words (empty for most allows)")
    snapshot_version: str = Field(description="the config revision the decision was computed at")
    caller: str = Field(description="how the decision names the caller")
    webhook: bool = Field(
        default=False,
        description="an allowed call is also put to the workspace's authorization webhook, which may refuse it",
    )

"""Virtual servers: one MCP endpoint aggregating the tools, prompts and resources of several
servers of the same workspace (``docs/access-control.md`` says why that never widens access)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints, model_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from control_plane.models.common import SLUG_PATTERN, new_id, utcnow
from shared.composition import prefix_problem, rename_problem

ToolName = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class VirtualMemberIn(SQLModel):
    """A member as written: a server of the workspace and how its items are shown."""

    model_config = {"extra": "forbid"}

    server: str = Field(description="slug of a server of the virtual server's workspace")
    prefix: str | None = Field(
        default=None,
        description="exposed names are '{prefix}__{name}'; default: the server slug (shortened past 24)",
    )
    tools: list[ToolName] | None = Field(
        default=None, max_length=1000, description="only these tools (original names); null: all"
    )
    renames: dict[ToolName, str] = Field(
        default_factory=dict, description="original tool name -> name shown instead of '{prefix}__{name}'"
    )
    descriptions: dict[ToolName, Annotated[str, StringConstraints(max_length=4000)]] = Field(
        default_factory=dict, description="original tool name -> description shown instead of the upstream's"
    )

    @model_validator(mode="after")
    def _consistent(self) -> VirtualMemberIn:
        if self.prefix is not None and (problem := prefix_problem(self.prefix)) is not None:
            raise ValueError(problem)
        for new_name in self.renames.values():
            if (problem := rename_problem(new_name)) is not None:
                raise ValueError(problem)
        if self.tools is not None:
            outside = sorted((set(self.renames) | set(self.descriptions)) - set(self.tools))
            if outside:
                raise ValueError(f"renames or descriptions name tools outside 'tools': {outside}")
        return self


def members_problem(members: list[VirtualMemberIn], prefix_of: dict[str, str]) -> str | None:
    """Why a member list does not fit together: repeated servers, prefixes or new names."""
    servers = [m.server for m in members]
    if len(set(servers)) != len(servers):
        return "a server is a member at most once"
    prefixes = [prefix_of[m.server] for m in members]
    if len(set(prefixes)) != len(prefixes):
        return "member prefixes must differ"
    new_names = [name for m in members for name in m.renames.values()]
    if len(set(new_names)) != len(new_names):
        return "two renames give the same name"
    return None


class VirtualServerBase(SQLModel):
    slug: str = Field(index=True, unique=True, max_length=64, schema_extra={"pattern": SLUG_PATTERN})
    name: str = Field(default="", max_length=200, description="shown to clients as the server's name")
    instructions: str = Field(default="", max_length=4000, description="shown to clients at initialize")


class VirtualServerCreate(VirtualServerBase):
    model_config = {"extra": "forbid"}

    workspace: str = Field(description="slug of the owning workspace")
    members: list[VirtualMemberIn] = Field(default_factory=list, max_length=50)


class VirtualServerUpdate(SQLModel):
    model_config = {"extra": "forbid"}

    name: str | None = Field(default=None, max_length=200)
    instructions: str | None = Field(default=None, max_length=4000)
    members: list[VirtualMemberIn] | None = Field(
        default=None, max_length=50, description="replaces the whole member list"
    )


class VirtualServer(VirtualServerBase, table=True):
    __tablename__ = "virtual_server"

    id: str = Field(default_factory=new_id, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True)
    members: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="[{server_id, prefix, tools, renames, descriptions}] in order",
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class VirtualMemberPublic(SQLModel):
    server: str
    prefix: str = Field(description="the prefix in effect")
    tools: list[str] | None
    renames: dict[str, str]
    descriptions: dict[str, str]


class VirtualServerPublic(VirtualServerBase):
    id: str
    workspace: str
    members: list[VirtualMemberPublic]
    created_at: datetime
    updated_at: datetime

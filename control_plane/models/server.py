"""Registered upstream MCP servers and their discovered tool catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import StringConstraints, model_validator
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from control_plane.models.common import SLUG_PATTERN, new_id, utcnow
from control_plane.models.upstream_auth import NoAuthIn, UpstreamAuthIn, UpstreamAuthPublic
from shared.snapshot.credentials import IdentityForwarding
from shared.snapshot.stdio import ENV_NAME_PATTERN, MAX_PROCESSES_LIMIT

TransportName = Literal["streamable-http", "stdio", "sse"]
"""``sse``: the legacy HTTP+SSE transport of MCP 2024-11-05 (``url`` is the GET event stream)."""
EnvName = Annotated[str, StringConstraints(pattern=ENV_NAME_PATTERN)]


def transport_problem(
    *,
    transport: str,
    url: str,
    command: str,
    args: list[str],
    env: dict[str, str] | list[str],
    cwd: str,
    min_processes: int,
    max_processes: int,
    headers: bool,
    auth: str,
    identity: IdentityForwarding,
) -> str | None:
    """Why these server fields do not fit together (``None`` when they do)."""
    if transport == "stdio":
        if not command:
            return "a stdio server needs a command"
        if url:
            return "a stdio server has no url (the data plane launches its command)"
        if headers or auth != "none" or identity != IdentityForwarding():
            return "a stdio server takes no headers, auth or identity (put secrets in env)"
        if min_processes > max_processes:
            return "min_processes must not exceed max_processes"
        texts = [command, cwd, *args, *(env.values() if isinstance(env, dict) else ())]
        if any("\x00" in text for text in texts):
            return "command, args, env and cwd must not contain NUL characters"
        return None
    if not url:
        return (
            "an sse server needs the url of its event stream"
            if transport == "sse"
            else ("a Streamable HTTP server needs a url")
        )
    if command or args or env or cwd:
        return "command, args, env and cwd are for stdio servers (transport: stdio)"
    if transport == "sse" and not url.startswith(("http://", "https://")):
        return "an sse server's url must be an http:// or https:// URL"
    return None


STDIO_FIELDS = ("command", "args", "env", "cwd", "min_processes", "max_processes", "idle_timeout_seconds")
"""The stdio settings of a server as written (``ServerCreate``, ``ServerUpdate``, ``gateway.yaml``)."""


def check_transport_fields(server: Any) -> None:
    """``ValueError`` naming the problem when a written server's fields do not fit its transport."""
    problem = transport_problem(
        transport=server.transport,
        url=server.url,
        command=server.command,
        args=server.args,
        env=server.env,
        cwd=server.cwd,
        min_processes=server.min_processes,
        max_processes=server.max_processes,
        headers=bool(server.headers),
        auth=server.auth.type,
        identity=server.identity,
    )
    if problem is not None:
        raise ValueError(problem)


class ServerBase(SQLModel):
    slug: str = Field(index=True, unique=True, max_length=64, schema_extra={"pattern": SLUG_PATTERN})
    url: str = Field(
        default="",
        max_length=2000,
        description="the Streamable HTTP endpoint, or the event stream (GET) of an sse server; not for stdio",
    )
    transport: str = Field(default="streamable-http", max_length=32)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    command: str = Field(default="", max_length=2000, description="stdio: the executable data planes launch")
    cwd: str = Field(
        default="", max_length=2000, description="stdio: working directory (empty: the data plane's)"
    )
    min_processes: int = Field(
        default=0, ge=0, le=MAX_PROCESSES_LIMIT, description="stdio: processes kept ready per data plane"
    )
    max_processes: int = Field(
        default=4, ge=1, le=MAX_PROCESSES_LIMIT, description="stdio: most processes at once per data plane"
    )
    idle_timeout_seconds: float = Field(
        default=300.0, gt=0, le=86_400, description="stdio: a process unused this long is stopped"
    )


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
    args: list[str] = Field(default_factory=list, description="stdio: the command's arguments (not secret)")
    env: dict[EnvName, str] = Field(
        default_factory=dict,
        description="stdio: the command's environment (secrets); write-only, never returned",
    )
    discover: bool = Field(default=True, description="fetch the tool catalog from the upstream now")

    @model_validator(mode="after")
    def _fits_transport(self) -> ServerCreate:
        check_transport_fields(self)
        return self


class ServerUpdate(SQLModel):
    url: str | None = None
    transport: TransportName | None = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    command: str | None = Field(default=None, max_length=2000)
    args: list[str] | None = None
    env: dict[EnvName, str] | None = Field(
        default=None, description="replaces the whole environment; write-only"
    )
    cwd: str | None = Field(default=None, max_length=2000)
    min_processes: int | None = Field(default=None, ge=0, le=MAX_PROCESSES_LIMIT)
    max_processes: int | None = Field(default=None, ge=1, le=MAX_PROCESSES_LIMIT)
    idle_timeout_seconds: float | None = Field(default=None, gt=0, le=86_400)
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
    args: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    env_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    env_encrypted: str = Field(default="", description="JSON of the stdio env, encrypted with the master key")
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
    args: list[str]
    env_names: list[str] = Field(description="names of the stdio env variables (values are write-only)")
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

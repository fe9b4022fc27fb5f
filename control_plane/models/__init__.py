"""SQLModel tables and API models, one module per domain.

Each entity follows the family ``XBase`` / ``XCreate`` / ``XUpdate`` / ``XPublic`` / ``X(table=True)``;
secrets never appear in ``XPublic``.
"""

from control_plane.models.audit import AuditEvent, AuditEventPublic
from control_plane.models.dataplane import DataPlane, DataPlaneGroup, DataPlaneGroupPublic, DataPlanePublic
from control_plane.models.identity import (
    IdentityProvider,
    IdentityProviderCreate,
    IdentityProviderPublic,
    IdentityProviderUpdate,
)
from control_plane.models.key import (
    AgentKey,
    AgentKeyCreate,
    AgentKeyCreated,
    AgentKeyPublic,
    AgentKeyUpdate,
    KeyScope,
)
from control_plane.models.revision import ConfigRevision
from control_plane.models.server import Server, ServerCreate, ServerPublic, ServerUpdate, Tool, ToolPublic
from control_plane.models.workspace import Workspace, WorkspaceCreate, WorkspacePublic

__all__ = [
    "AgentKey",
    "AgentKeyCreate",
    "AgentKeyCreated",
    "AgentKeyPublic",
    "AgentKeyUpdate",
    "AuditEvent",
    "AuditEventPublic",
    "ConfigRevision",
    "DataPlane",
    "DataPlaneGroup",
    "DataPlaneGroupPublic",
    "DataPlanePublic",
    "IdentityProvider",
    "IdentityProviderCreate",
    "IdentityProviderPublic",
    "IdentityProviderUpdate",
    "KeyScope",
    "Server",
    "ServerCreate",
    "ServerPublic",
    "ServerUpdate",
    "Tool",
    "ToolPublic",
    "Workspace",
    "WorkspaceCreate",
    "WorkspacePublic",
]

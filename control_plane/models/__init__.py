"""SQLModel tables and API models, one module per domain.

Each entity follows the family ``XBase`` / ``XCreate`` / ``XUpdate`` / ``XPublic`` / ``X(table=True)``;
secrets never appear in ``XPublic``.
"""

from control_plane.models.admin_token import AdminToken
from control_plane.models.audit import AuditEvent, AuditEventPublic
from control_plane.models.authn_webhook import AuthnWebhook
from control_plane.models.dataplane import DataPlane, DataPlaneGroup, DataPlaneGroupPublic, DataPlanePublic
from control_plane.models.grant import AuthzWebhook, Grant
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
from control_plane.models.team import Team, TeamMember
from control_plane.models.user import User, UserIdentity, WorkspaceMember
from control_plane.models.user_oauth import OAuthAuthorization, UserConnection
from control_plane.models.virtual_server import (
    VirtualServer,
    VirtualServerCreate,
    VirtualServerPublic,
    VirtualServerUpdate,
)
from control_plane.models.workspace import Workspace, WorkspaceCreate, WorkspacePublic

__all__ = [
    "AdminToken",
    "AgentKey",
    "AgentKeyCreate",
    "AgentKeyCreated",
    "AgentKeyPublic",
    "AgentKeyUpdate",
    "AuditEvent",
    "AuditEventPublic",
    "AuthnWebhook",
    "AuthzWebhook",
    "ConfigRevision",
    "DataPlane",
    "DataPlaneGroup",
    "DataPlaneGroupPublic",
    "DataPlanePublic",
    "Grant",
    "IdentityProvider",
    "IdentityProviderCreate",
    "IdentityProviderPublic",
    "IdentityProviderUpdate",
    "KeyScope",
    "OAuthAuthorization",
    "Server",
    "ServerCreate",
    "ServerPublic",
    "ServerUpdate",
    "Team",
    "TeamMember",
    "Tool",
    "ToolPublic",
    "User",
    "UserConnection",
    "UserIdentity",
    "VirtualServer",
    "VirtualServerCreate",
    "VirtualServerPublic",
    "VirtualServerUpdate",
    "Workspace",
    "WorkspaceCreate",
    "WorkspaceMember",
    "WorkspacePublic",
]

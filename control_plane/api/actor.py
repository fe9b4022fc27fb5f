"""Who is calling the admin API, and what they may do there.

Every route takes an :data:`ActorDep` and asks it before it reads or writes anything that
belongs to a workspace. Roles:

* organization ``admin``: everything;
* organization ``auditor``: read-only audit events (and analytics) of every workspace;
* workspace ``admin``: that workspace's servers, keys, teams, grants, credentials, webhook, audit;
* workspace ``auditor``: that workspace's audit events, read-only;
* ``member``: no admin rights (members use the gateway, not its admin API).

The bootstrap admin token (``MCPGW_ADMIN_TOKEN``) is an organization admin.

403, never 404, for what exists but is not the caller's: resource names (server and workspace
slugs) are global and appear in MCP URLs, so a 404 would hide little, while a 403 that names
the missing role tells an admin what to ask for. It never shows the resource itself.
404 means only that the resource does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import HTTPException, status


def forbidden(reason: str) -> HTTPException:
    """A 403 naming what the caller lacks."""
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=reason)


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated admin API caller."""

    label: str
    """How errors and logs name the caller (never a secret)."""
    user_id: str | None = None
    """``None`` for the bootstrap admin token."""
    org_role: str = "none"
    """``admin`` | ``auditor`` | ``none``."""
    workspace_roles: Mapping[str, str] = field(default_factory=dict)
    """Workspace id -> ``admin`` | ``member`` | ``auditor``."""
    via: str = "the bootstrap admin token"
    """How the caller authenticated (``admin token <name>``, ``identity provider <slug>``)."""

    @property
    def is_org_admin(self) -> bool:
        return self.org_role == "admin"

    def administers(self, workspace_id: str) -> bool:
        """May this caller manage the workspace's resources?"""
        return self.is_org_admin or self.workspace_roles.get(workspace_id) == "admin"

    def reads_audit_of(self, workspace_id: str) -> bool:
        """May this caller read the workspace's audit events?"""
        return self.org_role in ("admin", "auditor") or self.workspace_roles.get(workspace_id) in (
            "admin",
            "auditor",
        )

    def administered_workspaces(self) -> frozenset[str] | None:
        """Ids of the workspaces this caller manages; ``None`` means every workspace."""
        if self.is_org_admin:
            return None
        return frozenset(ws for ws, role in self.workspace_roles.items() if role == "admin")

    def audited_workspaces(self) -> frozenset[str] | None:
        """Ids of the workspaces whose audit this caller reads; ``None`` means every workspace."""
        if self.org_role in ("admin", "auditor"):
            return None
        return frozenset(ws for ws, role in self.workspace_roles.items() if role in ("admin", "auditor"))

    def require_org_admin(self) -> None:
        """403 unless the caller is an organization admin."""
        if not self.is_org_admin:
            raise forbidden(f"{self.label} is not an organization admin")

    def require_workspace_admin(self, workspace_id: str, workspace_slug: str = "") -> None:
        """403 unless the caller administers the workspace."""
        if not self.administers(workspace_id):
            raise forbidden(f"{self.label} is not an admin of workspace '{workspace_slug or workspace_id}'")

    def admin_listing_scope(self) -> frozenset[str] | None:
        """Workspaces a listing of managed things may show (``None``: all); 403 if the caller manages none."""
        scope = self.administered_workspaces()
        if scope is not None and not scope:
            raise forbidden(f"{self.label} is not an admin of any workspace")
        return scope

    def audit_listing_scope(self) -> frozenset[str] | None:
        """Workspaces whose audit events a listing may show (``None``: all); 403 if none."""
        scope = self.audited_workspaces()
        if scope is not None and not scope:
            raise forbidden(f"{self.label} may not read the audit of any workspace")
        return scope

    def require_audit_reader(self, workspace_id: str, workspace_slug: str = "") -> None:
        """403 unless the caller may read the workspace's audit events."""
        if not self.reads_audit_of(workspace_id):
            raise forbidden(
                f"{self.label} may not read the audit of workspace '{workspace_slug or workspace_id}'"
            )


BOOTSTRAP_ADMIN = Actor(label="the bootstrap admin token", org_role="admin")

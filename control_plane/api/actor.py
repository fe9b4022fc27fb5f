"""Who is calling the admin API, and what they may do there.

Every route takes an :data:`ActorDep` and asks it before it reads or writes anything that
belongs to a workspace. Roles:

* organization ``admin``: everything;
* organization ``auditor``: read-only audit events (and analytics) of every workspace;
* workspace ``admin``: that workspace's servers, keys, teams, grants, credentials, webhook, audit;
* workspace ``auditor``: that workspace's audit events, read-only;
* ``member``: no admin rights (members use the gateway, not its admin API).

The bootstrap admin token (``MCPGW_ADMIN_TOKEN``) is an organization admin.

403 or 404: a caller with no role at all in a resource's workspace gets 404, worded exactly as
for a resource that does not exist, so it cannot probe another tenant's names; a caller who can
see the workspace (any role there, or an organization role) but lacks the right gets 403 naming
what it lacks. Organization-level operations answer 403 to everyone but organization admins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import HTTPException, status


def forbidden(reason: str) -> HTTPException:
    """A 403 naming what the caller lacks."""
    return HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=reason)


def hidden(reason: str) -> HTTPException:
    """A 404 worded like the repositories' own "does not exist" answers."""
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=reason)


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

    def sees(self, workspace_id: str) -> bool:
        """Does this caller have any role in the workspace (or an organization role)?"""
        return self.org_role in ("admin", "auditor") or workspace_id in self.workspace_roles

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

    def require_some_admin_role(self) -> None:
        """403 unless the caller administers at least one workspace (for listings)."""
        if self.administered_workspaces() == frozenset():
            raise forbidden(f"{self.label} is not an admin of any workspace")

    def require_some_audit_role(self) -> None:
        """403 unless the caller reads the audit of at least one workspace."""
        if self.audited_workspaces() == frozenset():
            raise forbidden(f"{self.label} may not read the audit of any workspace")

    def require_admin_of(self, workspace_id: str, *, missing: str, workspace_slug: str = "") -> None:
        """Like :meth:`require_workspace_admin`, but 404 ``missing`` when the caller cannot see the workspace."""
        if not self.administers(workspace_id) and not self.sees(workspace_id):
            raise hidden(missing)
        self.require_workspace_admin(workspace_id, workspace_slug)

    def require_audit_reader(self, workspace_id: str, workspace_slug: str = "") -> None:
        """403 unless the caller may read the workspace's audit events."""
        if not self.reads_audit_of(workspace_id):
            raise forbidden(
                f"{self.label} may not read the audit of workspace '{workspace_slug or workspace_id}'"
            )


BOOTSTRAP_ADMIN = Actor(label="the bootstrap admin token", org_role="admin")

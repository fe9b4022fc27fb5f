"""The authorization webhook of a workspace: one per workspace, headers stored encrypted.

Header values are secrets (an API key for the webhook, say): encrypted with the master key
(``SecretBox``), never presented; only their names are. Every change records a config revision.
"""

from __future__ import annotations

import json

from sqlmodel import Session

from control_plane.crypto import SecretBox
from control_plane.models import AuthzWebhook, Workspace
from control_plane.models.common import utcnow
from control_plane.models.grant import AuthzWebhookPublic, AuthzWebhookSet
from control_plane.repos import revisions
from control_plane.repos.errors import NotFound


def find(session: Session, *, workspace: Workspace) -> AuthzWebhook | None:
    """The workspace's webhook, or ``None``."""
    return session.get(AuthzWebhook, workspace.id)


def get(session: Session, *, workspace: Workspace) -> AuthzWebhook:
    """The workspace's webhook; :class:`NotFound` when it has none."""
    hook = find(session, workspace=workspace)
    if hook is None:
        raise NotFound(f"workspace {workspace.slug!r} has no authorization webhook")
    return hook


def open_headers(secrets: SecretBox, hook: AuthzWebhook) -> dict[str, str]:
    """The decrypted headers of ``hook`` (never log them)."""
    if not hook.headers_encrypted:
        return {}
    opened: dict[str, str] = json.loads(secrets.decrypt(hook.headers_encrypted))
    return opened


def put(
    session: Session,
    *,
    workspace: Workspace,
    data: AuthzWebhookSet,
    secrets: SecretBox,
    record_revision: bool = True,
) -> tuple[AuthzWebhook, bool]:
    """Create or replace the webhook; ``data.headers`` ``None`` keeps the stored headers.

    Returns the webhook and whether anything changed.
    """
    hook = find(session, workspace=workspace)
    created = hook is None
    if hook is None:
        hook = AuthzWebhook(workspace_id=workspace.id, url=data.url)
    fields = data.model_dump(exclude={"headers"})
    changed = created or any(getattr(hook, name) != value for name, value in fields.items())
    for name, value in fields.items():
        setattr(hook, name, value)
    if data.headers is not None and (created or open_headers(secrets, hook) != data.headers):
        hook.headers_encrypted = (
            secrets.encrypt(json.dumps(data.headers, sort_keys=True)) if data.headers else ""
        )
        changed = True
    if changed:
        hook.updated_at = utcnow()
        session.add(hook)
        if record_revision:
            revisions.record(session, reason=f"authorization webhook of {workspace.slug} set")
        session.flush()
    return hook, changed


def delete(session: Session, *, workspace: Workspace) -> None:
    """Remove the workspace's webhook; calls are then decided by the grants alone."""
    session.delete(get(session, workspace=workspace))
    revisions.record(session, reason=f"authorization webhook of {workspace.slug} removed")
    session.flush()


def to_public(hook: AuthzWebhook, *, workspace: str, secrets: SecretBox) -> AuthzWebhookPublic:
    """The API form (header names, never their values)."""
    return AuthzWebhookPublic.model_validate(
        {
            "workspace": workspace,
            "url": hook.url,
            "timeout_seconds": hook.timeout_seconds,
            "cache_seconds": hook.cache_seconds,
            "failure_mode": hook.failure_mode,
            "header_names": sorted(open_headers(secrets, hook)),
            "updated_at": hook.updated_at,
        }
    )

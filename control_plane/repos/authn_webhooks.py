"""The authentication webhook of a workspace: one per workspace, headers stored encrypted.

Like the authorization webhook (``repos/webhooks.py``): header values are encrypted with the
master key and never presented, and every change records a config revision.
"""

from __future__ import annotations

import json

from sqlmodel import Session

from control_plane.crypto import SecretBox
from control_plane.models import Workspace
from control_plane.models.authn_webhook import AuthnWebhook, AuthnWebhookPublic, AuthnWebhookSet
from control_plane.models.common import utcnow
from control_plane.repos import revisions
from control_plane.repos.errors import NotFound


def find(session: Session, *, workspace: Workspace) -> AuthnWebhook | None:
    """The workspace's authentication webhook, or ``None``."""
    return session.get(AuthnWebhook, workspace.id)


def get(session: Session, *, workspace: Workspace) -> AuthnWebhook:
    """The workspace's authentication webhook; :class:`NotFound` when it has none."""
    hook = find(session, workspace=workspace)
    if hook is None:
        raise NotFound(f"workspace {workspace.slug!r} has no authentication webhook")
    return hook


def open_headers(secrets: SecretBox, hook: AuthnWebhook) -> dict[str, str]:
    """The decrypted headers of ``hook`` (never log them)."""
    if not hook.headers_encrypted:
        return {}
    opened: dict[str, str] = json.loads(secrets.decrypt(hook.headers_encrypted))
    return opened


def put(
    session: Session,
    *,
    workspace: Workspace,
    data: AuthnWebhookSet,
    secrets: SecretBox,
    record_revision: bool = True,
) -> tuple[AuthnWebhook, bool]:
    """Create or replace the webhook (``data.headers`` ``None`` keeps the stored headers); returns
    the webhook and whether anything changed."""
    hook = find(session, workspace=workspace)
    created = hook is None
    if hook is None:
        hook = AuthnWebhook(workspace_id=workspace.id, url=data.url)
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
            revisions.record(session, reason=f"authentication webhook of {workspace.slug} set")
        session.flush()
    return hook, changed


def delete(session: Session, *, workspace: Workspace) -> None:
    """Remove the workspace's authentication webhook: unknown credentials are then refused."""
    session.delete(get(session, workspace=workspace))
    revisions.record(session, reason=f"authentication webhook of {workspace.slug} removed")
    session.flush()


def to_public(hook: AuthnWebhook, *, workspace: str, secrets: SecretBox) -> AuthnWebhookPublic:
    """The API form (header names, never their values)."""
    return AuthnWebhookPublic.model_validate(
        {
            "workspace": workspace,
            "url": hook.url,
            "timeout_seconds": hook.timeout_seconds,
            "max_cache_seconds": hook.max_cache_seconds,
            "failure_mode": hook.failure_mode,
            "header_names": sorted(open_headers(secrets, hook)),
            "updated_at": hook.updated_at,
        }
    )

"""A workspace's webhooks (authorization, authentication): at most one of each kind per
workspace, header values stored encrypted.

Header values are secrets (an API key for the webhook, say): encrypted with the master key
(``SecretBox``), never presented; only their names are. Every change records a config revision.
"""

from __future__ import annotations

import json
from typing import Generic, TypeVar

from sqlmodel import Session, SQLModel

from control_plane.crypto import SecretBox
from control_plane.models import AuthnWebhook, AuthzWebhook, Workspace
from control_plane.models.authn_webhook import AuthnWebhookSet
from control_plane.models.common import utcnow
from control_plane.models.grant import AuthzWebhookSet
from control_plane.repos import revisions
from control_plane.repos.errors import NotFound

Hook = TypeVar("Hook", AuthzWebhook, AuthnWebhook)
Public = TypeVar("Public", bound=SQLModel)


class WorkspaceWebhooks(Generic[Hook, Public]):
    """The repository of one kind of workspace webhook (``what`` names it in messages)."""

    def __init__(self, model: type[Hook], public: type[Public], what: str) -> None:
        self._model: type[Hook] = model
        self._public: type[Public] = public
        self._what = what

    def find(self, session: Session, *, workspace: Workspace) -> Hook | None:
        """The workspace's webhook, or ``None``."""
        return session.get(self._model, workspace.id)

    def get(self, session: Session, *, workspace: Workspace) -> Hook:
        """The workspace's webhook; :class:`NotFound` when it has none."""
        hook = self.find(session, workspace=workspace)
        if hook is None:
            raise NotFound(f"workspace {workspace.slug!r} has no {self._what}")
        return hook

    @staticmethod
    def open_headers(secrets: SecretBox, hook: Hook) -> dict[str, str]:
        """The decrypted headers of ``hook`` (never log them)."""
        if not hook.headers_encrypted:
            return {}
        opened: dict[str, str] = json.loads(secrets.decrypt(hook.headers_encrypted))
        return opened

    def put(
        self,
        session: Session,
        *,
        workspace: Workspace,
        data: AuthzWebhookSet | AuthnWebhookSet,
        secrets: SecretBox,
        record_revision: bool = True,
    ) -> tuple[Hook, bool]:
        """Create or replace the webhook from ``data`` (its ``headers`` ``None`` keeps the stored
        headers); returns the webhook and whether anything changed."""
        hook = self.find(session, workspace=workspace)
        created = hook is None
        if hook is None:
            hook = self._model(workspace_id=workspace.id, url=data.url)
        fields = data.model_dump(exclude={"headers"})
        changed = created or any(getattr(hook, name) != value for name, value in fields.items())
        for name, value in fields.items():
            setattr(hook, name, value)
        headers: dict[str, str] | None = data.headers
        if headers is not None and (created or self.open_headers(secrets, hook) != headers):
            hook.headers_encrypted = secrets.encrypt(json.dumps(headers, sort_keys=True)) if headers else ""
            changed = True
        if changed:
            hook.updated_at = utcnow()
            session.add(hook)
            if record_revision:
                revisions.record(session, reason=f"{self._what} of {workspace.slug} set")
            session.flush()
        return hook, changed

    def delete(self, session: Session, *, workspace: Workspace) -> None:
        """Remove the workspace's webhook."""
        session.delete(self.get(session, workspace=workspace))
        revisions.record(session, reason=f"{self._what} of {workspace.slug} removed")
        session.flush()

    def to_public(self, hook: Hook, *, workspace: str, secrets: SecretBox) -> Public:
        """The API form (header names, never their values)."""
        fields = {name: getattr(hook, name) for name in self._public.model_fields if hasattr(hook, name)}
        fields.update(workspace=workspace, header_names=sorted(self.open_headers(secrets, hook)))
        return self._public.model_validate(fields)

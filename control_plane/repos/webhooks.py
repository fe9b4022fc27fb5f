"""The authorization webhook of a workspace (see ``repos/workspace_webhooks.py``); without one,
calls are decided by the grants alone."""

from __future__ import annotations

from control_plane.models import AuthzWebhook
from control_plane.models.grant import AuthzWebhookPublic
from control_plane.repos.workspace_webhooks import WorkspaceWebhooks

_HOOKS = WorkspaceWebhooks(AuthzWebhook, AuthzWebhookPublic, "authorization webhook")

find = _HOOKS.find
get = _HOOKS.get
open_headers = _HOOKS.open_headers
put = _HOOKS.put
delete = _HOOKS.delete
to_public = _HOOKS.to_public

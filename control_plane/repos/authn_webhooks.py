"""The authentication webhook of a workspace (see ``repos/workspace_webhooks.py``); without one,
credentials no gateway key or identity provider accepts are refused."""

from __future__ import annotations

from control_plane.models.authn_webhook import AuthnWebhook, AuthnWebhookPublic
from control_plane.repos.workspace_webhooks import WorkspaceWebhooks

_HOOKS = WorkspaceWebhooks(AuthnWebhook, AuthnWebhookPublic, "authentication webhook")

find = _HOOKS.find
get = _HOOKS.get
open_headers = _HOOKS.open_headers
put = _HOOKS.put
delete = _HOOKS.delete
to_public = _HOOKS.to_public

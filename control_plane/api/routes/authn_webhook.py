"""``/api/v1/workspaces/{slug}/authn-webhook``: the endpoint that verifies credentials nothing else knows."""

from __future__ import annotations

from fastapi import APIRouter, status

from control_plane.api.deps import ActorDep, SessionDep, StateDep
from control_plane.api.scoping import administered_workspace
from control_plane.models.authn_webhook import AuthnWebhookPublic, AuthnWebhookSet
from control_plane.repos import authn_webhooks

router = APIRouter(prefix="/workspaces/{slug}/authn-webhook", tags=["authn-webhook"])


@router.get("", summary="Get a workspace's authentication webhook")
def get_authn_webhook(session: SessionDep, state: StateDep, actor: ActorDep, slug: str) -> AuthnWebhookPublic:
    """The webhook's settings and header names (never header values); 404 when none is set."""
    workspace = administered_workspace(session, actor, slug)
    hook = authn_webhooks.get(session, workspace=workspace)
    return authn_webhooks.to_public(hook, workspace=workspace.slug, secrets=state.secrets)


@router.put("", summary="Set a workspace's authentication webhook")
def put_authn_webhook(
    session: SessionDep, state: StateDep, actor: ActorDep, slug: str, body: AuthnWebhookSet
) -> AuthnWebhookPublic:
    """Create or replace the webhook; omitting ``headers`` keeps the stored ones, ``{}`` clears them.

    The URL must be https (plain http only toward 127.0.0.1, ::1 or localhost): the webhook
    receives the client's credential.
    """
    workspace = administered_workspace(session, actor, slug)
    hook, _ = authn_webhooks.put(session, workspace=workspace, data=body, secrets=state.secrets)
    return authn_webhooks.to_public(hook, workspace=workspace.slug, secrets=state.secrets)


@router.delete(
    "", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a workspace's authentication webhook"
)
def delete_authn_webhook(session: SessionDep, actor: ActorDep, slug: str) -> None:
    """Remove the webhook: credentials that are neither keys nor IdP tokens are then refused."""
    authn_webhooks.delete(session, workspace=administered_workspace(session, actor, slug))

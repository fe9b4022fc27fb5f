"""``/api/v1/workspaces/{slug}/authz-webhook``: the endpoint asked before each call the grants allow."""

from __future__ import annotations

from fastapi import APIRouter, status

from control_plane.api.deps import ActorDep, SessionDep, StateDep
from control_plane.api.scoping import administered_workspace
from control_plane.models.grant import AuthzWebhookPublic, AuthzWebhookSet
from control_plane.repos import webhooks

router = APIRouter(prefix="/workspaces/{slug}/authz-webhook", tags=["authz-webhook"])


@router.get("", summary="Get a workspace's authorization webhook")
def get_webhook(session: SessionDep, state: StateDep, actor: ActorDep, slug: str) -> AuthzWebhookPublic:
    """The webhook's settings and header names (never header values); 404 when none is set."""
    workspace = administered_workspace(session, actor, slug)
    hook = webhooks.get(session, workspace=workspace)
    return webhooks.to_public(hook, workspace=workspace.slug, secrets=state.secrets)


@router.put("", summary="Set a workspace's authorization webhook")
def put_webhook(
    session: SessionDep, state: StateDep, actor: ActorDep, slug: str, body: AuthzWebhookSet
) -> AuthzWebhookPublic:
    """Create or replace the webhook; omitting ``headers`` keeps the stored ones, ``{}`` clears them."""
    workspace = administered_workspace(session, actor, slug)
    hook, _ = webhooks.put(session, workspace=workspace, data=body, secrets=state.secrets)
    return webhooks.to_public(hook, workspace=workspace.slug, secrets=state.secrets)


@router.delete(
    "", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a workspace's authorization webhook"
)
def delete_webhook(session: SessionDep, actor: ActorDep, slug: str) -> None:
    """Remove the webhook; calls are then decided by the grants alone."""
    webhooks.delete(session, workspace=administered_workspace(session, actor, slug))

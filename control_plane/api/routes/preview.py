"""``/api/v1/access/preview``: what the data planes would decide, computed by their own code."""

from __future__ import annotations

from fastapi import APIRouter

from control_plane.api.deps import ActorDep, SessionDep
from control_plane.compiler.preview import decide
from control_plane.models import AgentKey, Workspace
from control_plane.models.common import utcnow
from control_plane.models.preview import KeyCaller, PreviewAnswer, PreviewRequest
from control_plane.repos import grants
from control_plane.repos.errors import Invalid

router = APIRouter(prefix="/access", tags=["access"])


@router.post("/preview", summary="Preview an access decision")
def preview_access(session: SessionDep, actor: ActorDep, body: PreviewRequest) -> PreviewAnswer:
    """May this caller (an agent key, a user, or an identity provider's token given by its
    claims) use this server, or this tool / prompt / resource of it?

    The answer names the rule that decided and why, at the current config revision; it is
    computed by the same evaluation the data planes run. Only admins of the server's workspace
    may ask, and for a key, only admins of the key's workspace.
    """
    server = grants.server_named(session, body.server)
    workspace = session.get(Workspace, server.workspace_id)
    actor.require_workspace_admin(server.workspace_id, workspace.slug if workspace is not None else "")
    key = None
    if isinstance(body.caller, KeyCaller):
        key = session.get(AgentKey, body.caller.id)
        if key is None:
            raise Invalid(f"key {body.caller.id!r} does not exist")
        actor.require_workspace_admin(key.workspace_id)
    return decide(session, request=body, server=server, key=key, now=utcnow())

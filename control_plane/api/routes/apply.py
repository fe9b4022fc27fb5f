"""``/api/v1/apply``: declarative config, applied in one transaction (see ``control_plane.apply``)."""

from __future__ import annotations

from fastapi import APIRouter

from control_plane import catalog
from control_plane.api.deps import ActorDep, StateDep
from control_plane.apply import ApplyDocument, ApplyResult, apply_config

router = APIRouter(tags=["apply"])


@router.post("/apply", summary="Apply a declarative config document", response_model_exclude_none=True)
def apply(state: StateDep, actor: ActorDep, body: ApplyDocument) -> ApplyResult:
    """Create or update workspaces, servers and keys to match the document; nothing is deleted.

    Idempotent: applying the same document again reports every item ``unchanged`` and makes
    no new snapshot. Generated key secrets are returned once. Servers that are new or whose
    URL or headers changed then get their tool catalog fetched; failures are reported in
    ``discovery_errors`` and do not undo the apply. Organization admins only: a document may
    name any workspace.
    """
    actor.require_org_admin()
    with state.db.transaction() as session:
        result = apply_config(session, document=body, secrets=state.secrets)
    result.discovery_errors = catalog.refresh_quietly(
        state.db,
        slugs=result.servers_to_discover,
        secrets=state.secrets,
        timeout=state.settings.discovery_timeout_seconds,
    )
    return result

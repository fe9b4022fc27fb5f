"""``/api/v1/dataplane-groups`` and ``/api/v1/dataplanes``: groups and the status of each data plane.

Data planes serve every workspace, so every route here is for organization admins.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field

from control_plane.api.deps import ActorDep, SessionDep, StateDep
from control_plane.compiler import CompileError, compile_snapshot
from control_plane.models import DataPlaneGroupPublic, DataPlanePublic
from control_plane.models.common import SLUG_PATTERN, utcnow
from control_plane.repos import dataplanes, groups
from shared.snapshot import sign_snapshot

router = APIRouter(tags=["data planes"])


class DataPlaneGroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SLUG_PATTERN, max_length=64)
    public_key: dict[str, Any] = Field(description="the group's X25519 public JWK (from `mcpgw keygen`)")


@router.get("/dataplane-groups", summary="List data-plane groups")
def list_groups(session: SessionDep, actor: ActorDep) -> list[DataPlaneGroupPublic]:
    """Every data-plane group with the public key its secrets are sealed to."""
    actor.require_org_admin()
    return [DataPlaneGroupPublic.model_validate(g) for g in dataplanes.list_groups(session)]


@router.post("/dataplane-groups", status_code=status.HTTP_201_CREATED, summary="Register a data-plane group")
def create_group(
    session: SessionDep, state: StateDep, actor: ActorDep, body: DataPlaneGroupCreate
) -> DataPlaneGroupPublic:
    """Register a group (a region or a customer site) with its X25519 public key."""
    actor.require_org_admin()
    return DataPlaneGroupPublic.model_validate(
        groups.create(session, name=body.name, public_key=body.public_key, secrets=state.secrets)
    )


@router.get("/dataplanes", summary="List data planes and their sync status")
def list_dataplanes(session: SessionDep, actor: ActorDep, group: str | None = None) -> list[DataPlanePublic]:
    """Each data plane's applied version and hash, last contact, connection, and last NACK."""
    actor.require_org_admin()
    return [DataPlanePublic.model_validate(d) for d in dataplanes.list_data_planes(session, group=group)]


@router.get(
    "/dataplane-groups/{name}/snapshot",
    summary="Export the group's current signed snapshot (air-gapped data planes)",
    response_class=Response,
    responses={200: {"content": {"application/jose": {"schema": {"type": "string"}}}}},
)
def export_snapshot(session: SessionDep, state: StateDep, actor: ActorDep, name: str) -> Response:
    """The compact JWS a data plane started with ``--snapshot-file`` boots from.

    Secrets inside stay sealed to the group's key; the file is safe to carry to an air-gapped site.
    """
    actor.require_org_admin()
    group = dataplanes.get_group(session, name=name)
    if group is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"data-plane group {name!r} not found")
    try:
        snapshot = compile_snapshot(session, group=group, secrets=state.secrets, now=utcnow())
    except CompileError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"cannot compile group {name!r}: {exc}") from exc
    headers = {"X-Mcpgw-Snapshot-Version": snapshot.version, "X-Mcpgw-Snapshot-Hash": snapshot.hash}
    return Response(
        sign_snapshot(snapshot, state.signing_key), media_type="application/jose", headers=headers
    )

"""``/api/v1/dataplane-groups`` and ``/api/v1/dataplanes``: groups and the status of each data plane."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from control_plane.api.deps import SessionDep
from control_plane.models import DataPlaneGroupPublic, DataPlanePublic
from control_plane.models.common import SLUG_PATTERN
from control_plane.repos import dataplanes, groups

router = APIRouter(tags=["data planes"])


class DataPlaneGroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=SLUG_PATTERN, max_length=64)
    public_key: dict[str, Any] = Field(description="the group's X25519 public JWK (from `mcpgw keygen`)")


@router.get("/dataplane-groups", summary="List data-plane groups")
def list_groups(session: SessionDep) -> list[DataPlaneGroupPublic]:
    """Every data-plane group with the public key its secrets are sealed to."""
    return [DataPlaneGroupPublic.model_validate(g) for g in dataplanes.list_groups(session)]


@router.post("/dataplane-groups", status_code=status.HTTP_201_CREATED, summary="Register a data-plane group")
def create_group(session: SessionDep, body: DataPlaneGroupCreate) -> DataPlaneGroupPublic:
    """Register a group (a region or a customer site) with its X25519 public key."""
    return DataPlaneGroupPublic.model_validate(
        groups.create(session, name=body.name, public_key=body.public_key)
    )


@router.get("/dataplanes", summary="List data planes and their sync status")
def list_dataplanes(session: SessionDep, group: str | None = None) -> list[DataPlanePublic]:
    """Each data plane's applied version and hash, last contact, connection, and last NACK."""
    return [DataPlanePublic.model_validate(d) for d in dataplanes.list_data_planes(session, group=group)]

"""The admin API: ``/api/v1``, every route behind admin authentication (each route authorizes)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from control_plane.api.deps import require_admin
from control_plane.api.routes import (
    admin_tokens,
    apply,
    audit,
    authn_webhook,
    connections,
    dataplanes,
    grants,
    identity_providers,
    keys,
    members,
    preview,
    servers,
    teams,
    users,
    virtual_servers,
    webhook,
    workspaces,
)

API_PREFIX = "/api/v1"


def build_router() -> APIRouter:
    """The ``/api/v1`` router; admin auth is a router dependency so no route can miss it."""
    router = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_admin)])
    for module in (workspaces, servers, keys, identity_providers, dataplanes, audit, apply, admin_tokens):
        router.include_router(module.router)
    for module in (
        users,
        members,
        teams,
        grants,
        webhook,
        authn_webhook,
        preview,
        virtual_servers,
        connections,
    ):
        router.include_router(module.router)
    return router


__all__ = ["API_PREFIX", "build_router"]

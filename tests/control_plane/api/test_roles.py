"""Which role may do what in the admin API: one row per caller, one column per route family.

Every caller authenticates with a real admin API token of a user holding that role (see
``admin_kit.ROLES``). Writes are idempotent updates, so one set of resources serves a row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.control_plane.api.admin_kit import ROLES, Tenants, tenants

Call = Callable[[TestClient, Tenants, dict[str, str]], str]


def _status(response: Any) -> str:
    """``ok`` for any success, else the status code (a refusal must be 403 here, never 404 or 500)."""
    return "ok" if response.status_code < 300 else str(response.status_code)


def _listed(response: Any, field: str = "workspace") -> str:
    """Which workspaces' items a listing shows (``403`` when refused)."""
    if response.status_code != 200:
        return str(response.status_code)
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return "+".join(sorted({item[field] for item in items})) or "none"


FAMILIES: dict[str, Call] = {
    "read workspace": lambda c, t, h: _status(c.get("/api/v1/workspaces/alpha", headers=h)),
    "list workspaces": lambda c, t, h: _listed(c.get("/api/v1/workspaces", headers=h), "slug"),
    "create workspace": lambda c, t, h: _status(
        c.post("/api/v1/workspaces", json={"slug": "w-new"}, headers=h)
    ),
    "manage server": lambda c, t, h: _status(
        c.patch("/api/v1/servers/alpha-srv", json={"timeout_seconds": 20}, headers=h)
    ),
    "list servers": lambda c, t, h: _listed(c.get("/api/v1/servers", headers=h)),
    "server tools": lambda c, t, h: _status(c.get("/api/v1/servers/alpha-srv/tools", headers=h)),
    "manage key": lambda c, t, h: _status(
        c.patch(f"/api/v1/keys/{t.ids['alpha']['key']}", json={"expires_at": None}, headers=h)
    ),
    "list keys": lambda c, t, h: _listed(c.get("/api/v1/keys", headers=h)),
    "workspace IdP": lambda c, t, h: _status(
        c.patch("/api/v1/identity-providers/alpha-idp", json={"leeway_seconds": 30}, headers=h)
    ),
    "org IdP": lambda c, t, h: _status(
        c.patch("/api/v1/identity-providers/org-idp", json={"leeway_seconds": 30}, headers=h)
    ),
    "members": lambda c, t, h: _status(c.get("/api/v1/workspaces/alpha/members", headers=h)),
    "team": lambda c, t, h: _status(c.get(f"/api/v1/teams/{t.ids['alpha']['team']}", headers=h)),
    "grant": lambda c, t, h: _status(c.get(f"/api/v1/grants/{t.ids['alpha']['grant']}", headers=h)),
    "audit": lambda c, t, h: _listed(c.get("/api/v1/audit-events", headers=h)),
    "data planes": lambda c, t, h: _status(c.get("/api/v1/dataplanes", headers=h)),
    "apply": lambda c, t, h: _status(c.post("/api/v1/apply", json={}, headers=h)),
    "users": lambda c, t, h: _status(c.get("/api/v1/users", headers=h)),
    "me": lambda c, t, h: _status(c.get("/api/v1/me", headers=h)),
}

ALL, NO = "ok", "403"
EXPECTED: dict[str, dict[str, str]] = {
    "org-admin": {name: ALL for name in FAMILIES}
    | {
        "list workspaces": "alpha+beta",
        "list servers": "alpha+beta",
        "list keys": "alpha+beta",
        "audit": "alpha+beta",
    },
    "org-auditor": {name: NO for name in FAMILIES}
    | {"read workspace": ALL, "list workspaces": "alpha+beta", "audit": "alpha+beta", "me": ALL},
    "alpha-admin": {name: ALL for name in FAMILIES}
    | {
        "list workspaces": "alpha",
        "create workspace": NO,
        "list servers": "alpha",
        "list keys": "alpha",
        "org IdP": NO,
        "audit": "alpha",
        "data planes": NO,
        "apply": NO,
        "users": NO,
    },
    "alpha-auditor": {name: NO for name in FAMILIES}
    | {"read workspace": ALL, "list workspaces": "alpha", "audit": "alpha", "me": ALL},
    "alpha-member": {name: NO for name in FAMILIES} | {"me": ALL},
    "beta-admin": {name: NO for name in FAMILIES}
    | {"list workspaces": "beta", "list servers": "beta", "list keys": "beta", "audit": "beta", "me": ALL},
    "nobody": {name: NO for name in FAMILIES} | {"me": ALL},
}


def test_the_table_covers_every_role() -> None:
    assert set(EXPECTED) == set(ROLES)
    assert all(set(row) == set(FAMILIES) for row in EXPECTED.values())


@pytest.mark.parametrize("caller", sorted(ROLES))
def test_each_role_may_do_exactly_what_the_table_says(client: TestClient, caller: str) -> None:
    built = tenants(client)
    headers = built.headers(caller)

    outcomes = {name: call(client, built, headers) for name, call in FAMILIES.items()}

    assert outcomes == EXPECTED[caller]

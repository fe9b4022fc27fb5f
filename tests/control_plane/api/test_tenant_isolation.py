"""Tenant isolation, generated from the OpenAPI document: no admin route lets another workspace's
admin, or a plain member, see or change workspace ``alpha``.

For every operation under ``/api/v1`` the path parameters are filled with alpha's real ids and
slugs (:data:`PATH_PARAMETERS`; a parameter nobody taught this test fails it, so a new route
cannot slip through untested) and writes get a plausible body (:data:`BODIES`; a write without
one fails too). Each operation is called as ``beta-admin`` and as ``alpha-member``: it must be
refused (401/403/404). Collection reads (a GET without path parameters) may answer the caller's
own things but must not show anything of alpha. Afterwards alpha must be exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from control_plane.app import create_app
from control_plane.settings import ControlPlaneSettings
from shared import keyfiles
from tests.control_plane.api.admin_kit import Tenants, tenants
from tests.control_plane.conftest import ADMIN_TOKEN

CALLERS = ("beta-admin", "alpha-member")
REFUSED = {401, 403, 404}
SELF_SERVICE = {("GET", "/api/v1/me"), ("GET", "/api/v1/admin-tokens"), ("GET", "/api/v1/me/connections")}
"""Answer every caller about themself; they must still show nothing of alpha but the caller's own role."""

Builder = Callable[[Tenants], str]
PATH_PARAMETERS: dict[tuple[str, str], Builder] = {
    # (the path segment before the parameter, parameter name) -> alpha's value
    ("workspaces", "slug"): lambda t: t.ids["alpha"]["workspace"],
    ("servers", "slug"): lambda t: t.ids["alpha"]["server"],
    ("keys", "key_id"): lambda t: t.ids["alpha"]["key"],
    ("identity-providers", "slug"): lambda t: t.ids["alpha"]["identity_provider"],
    ("dataplane-groups", "name"): lambda t: "default",
    ("admin-tokens", "token_id"): lambda t: t.ids["alpha"]["admin_token"],
    ("users", "user"): lambda t: t.ids["alpha"]["user"],
    ("identities", "identity_id"): lambda t: t.ids["alpha"]["identity"],
    ("members", "user"): lambda t: t.ids["alpha"]["member_user"],
    ("teams", "team_id"): lambda t: t.ids["alpha"]["team"],
    ("grants", "grant_id"): lambda t: t.ids["alpha"]["grant"],
    ("virtual-servers", "slug"): lambda t: t.ids["alpha"]["virtual_server"],
    ("connections", "server"): lambda t: t.ids["alpha"]["server"],
}

Body = Callable[[Tenants, str], dict[str, Any]]
BODIES: dict[tuple[str, str], Body] = {
    # (method, path template) -> a body that would succeed for alpha's admin; (tenants, caller)
    ("POST", "/api/v1/workspaces"): lambda t, c: {"slug": "iso-new"},
    ("POST", "/api/v1/servers"): lambda t, c: {
        "slug": "iso-srv",
        "workspace": "alpha",
        "url": "http://127.0.0.1:9/mcp",
        "discover": False,
    },
    ("PATCH", "/api/v1/servers/{slug}"): lambda t, c: {"url": "http://127.0.0.1:9/evil"},
    ("POST", "/api/v1/keys"): lambda t, c: {
        "name": "iso-key",
        "workspace": "alpha",
        "servers": ["alpha-srv"],
    },
    ("PATCH", "/api/v1/keys/{key_id}"): lambda t, c: {"servers": []},
    ("POST", "/api/v1/identity-providers"): lambda t, c: {
        "slug": "iso-idp",
        "workspace": "alpha",
        "issuer": "https://iso.idp.example.test",
    },
    ("PATCH", "/api/v1/identity-providers/{slug}"): lambda t, c: {"leeway_seconds": 600},
    ("POST", "/api/v1/dataplane-groups"): lambda t, c: {
        "name": "iso-group",
        "public_key": keyfiles.public_jwk(keyfiles.generate("X25519")),
    },
    ("POST", "/api/v1/apply"): lambda t, c: {"workspaces": [{"slug": "alpha", "name": "Taken over"}]},
    ("POST", "/api/v1/admin-tokens"): lambda t, c: {"name": "iso", "user_id": t.ids["alpha"]["user"]},
    ("POST", "/api/v1/users"): lambda t, c: {"email": "iso@example.com", "org_role": "admin"},
    ("PATCH", "/api/v1/users/{user}"): lambda t, c: {"disabled": True},
    ("POST", "/api/v1/users/{user}/identities"): lambda t, c: {"provider": "org-idp", "subject": "iso"},
    ("POST", "/api/v1/workspaces/{slug}/members"): lambda t, c: {"user": t.users[c], "role": "admin"},
    ("PATCH", "/api/v1/workspaces/{slug}/members/{user}"): lambda t, c: {"role": "member"},
    ("POST", "/api/v1/teams"): lambda t, c: {"workspace": "alpha", "slug": "iso-team"},
    ("PATCH", "/api/v1/teams/{team_id}"): lambda t, c: {"name": "Taken over"},
    ("POST", "/api/v1/teams/{team_id}/members"): lambda t, c: {"user": t.users[c]},
    ("POST", "/api/v1/grants"): lambda t, c: {
        "name": "iso-grant",
        "server": "alpha-srv",
        "subject": {"kind": "user", "id": t.users[c]},
    },
    ("PATCH", "/api/v1/grants/{grant_id}"): lambda t, c: {"effect": "deny"},
    ("PUT", "/api/v1/workspaces/{slug}/authz-webhook"): lambda t, c: {
        "url": "https://evil.example.test/hook"
    },
    ("POST", "/api/v1/virtual-servers"): lambda t, c: {
        "slug": "iso-virtual",
        "workspace": "alpha",
        "members": [{"server": "alpha-srv"}],
    },
    ("PATCH", "/api/v1/virtual-servers/{slug}"): lambda t, c: {"members": []},
    ("PUT", "/api/v1/workspaces/{slug}/authn-webhook"): lambda t, c: {
        "url": "https://evil.example.test/verify"
    },
    ("POST", "/api/v1/access/preview"): lambda t, c: {
        "caller": {"kind": "key", "id": t.ids["alpha"]["key"]},
        "server": "alpha-srv",
    },
}


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """An admin client of a started app on SQLite, and on PostgreSQL."""
    url = (
        f"sqlite:///{tmp_path / 'control-plane.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    settings = ControlPlaneSettings(
        state_dir=tmp_path / "state", database_url=url, admin_token=ADMIN_TOKEN, master_key=""
    )
    app = create_app(settings, start_distribution=False)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        yield client


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    document = client.app.openapi()  # type: ignore[attr-defined]
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
    ]


def _fill(path: str, built: Tenants) -> str:
    """``path`` with each ``{parameter}`` replaced by alpha's value; fails on a parameter nobody knows."""
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if segment.startswith("{"):
            key = (segments[index - 1], segment.strip("{}"))
            if key not in PATH_PARAMETERS:
                pytest.fail(f"no builder for path parameter {key[1]!r} after /{key[0]}/ in {path}")
            segments[index] = PATH_PARAMETERS[key](built)
    return "/".join(segments)


def _alpha_marks(built: Tenants, *, with_workspace: bool) -> set[str]:
    """Strings that only alpha's resources carry (the slug too, unless the caller is in alpha)."""
    marks = {v for k, v in built.ids["alpha"].items() if k not in ("workspace", "org_provider")}
    marks |= {
        "alpha-srv",
        "alpha-virtual",
        "alpha-key",
        "alpha-team",
        "alpha-grant",
        "alpha-event",
        "alpha.idp",
        "alpha.hook",
        "alpha.authn",
    }
    marks.add("alpha-admin@example.com")
    if with_workspace:
        marks.add("alpha")
    return marks


def _alpha_state(client: TestClient) -> str:
    """What the organization admin sees of alpha, to compare before and after."""
    reads = [
        "/api/v1/workspaces/alpha",
        "/api/v1/servers?workspace=alpha",
        "/api/v1/virtual-servers?workspace=alpha",
        "/api/v1/keys?workspace=alpha&include_revoked=true",
        "/api/v1/identity-providers",
        "/api/v1/workspaces/alpha/members",
        "/api/v1/teams?workspace=alpha",
        "/api/v1/grants?workspace=alpha",
        "/api/v1/workspaces/alpha/authz-webhook",
        "/api/v1/workspaces/alpha/authn-webhook",
        "/api/v1/admin-tokens?include_revoked=true",
        "/api/v1/users",
        "/api/v1/dataplane-groups",
        "/api/v1/workspaces",
    ]
    state = {path: client.get(path).json() for path in reads}
    for token in state["/api/v1/admin-tokens?include_revoked=true"]:
        token.pop("last_used_at")  # the callers' own tokens were used, as they should be
    return json.dumps(state, sort_keys=True)


def test_no_admin_route_lets_another_workspaces_admin_or_a_member_reach_alpha(
    any_db_client: TestClient,
) -> None:
    client = any_db_client
    built = tenants(client)
    before = _alpha_state(client)
    operations = _operations(client)
    assert len(operations) >= 50

    leaks: list[str] = []
    for method, template, operation in operations:
        path = _fill(template, built)
        body = None
        if "requestBody" in operation:
            if (method, template) not in BODIES:
                pytest.fail(f"no body for {method} {template}: add one to BODIES")
            body_of = BODIES[(method, template)]
        for caller in CALLERS:
            if "requestBody" in operation:
                body = body_of(built, caller)
            response = client.request(method, path, json=body, headers=built.headers(caller))
            collection = method == "GET" and "{" not in template
            self_service = (method, template) in SELF_SERVICE
            marks = _alpha_marks(built, with_workspace=caller != "alpha-member")
            if response.status_code in REFUSED:
                continue
            if response.status_code == 200 and (self_service or (collection and caller == "beta-admin")):
                shown = sorted(mark for mark in marks if mark in response.text)
                if shown:
                    leaks.append(f"{caller}: {method} {template} shows {shown}")
                continue
            leaks.append(
                f"{caller}: {method} {template} answered {response.status_code}: {response.text[:200]}"
            )

    assert leaks == []
    assert _alpha_state(client) == before


def test_the_builder_tables_name_only_what_the_api_has(client: TestClient) -> None:
    templates = {(method, path) for method, path, _ in _operations(client)}
    assert set(BODIES) <= templates
    assert templates >= SELF_SERVICE
    parameters = {
        (segments[i - 1], segment.strip("{}"))
        for _, path in templates
        for segments in [path.split("/")]
        for i, segment in enumerate(segments)
        if segment.startswith("{")
    }
    assert set(PATH_PARAMETERS) == parameters

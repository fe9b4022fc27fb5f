"""Every admin API route is behind the admin token; health is not."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from control_plane.api import routes
from control_plane.app import create_app
from control_plane.settings import ControlPlaneSettings

PUBLIC_ROUTE_MODULES = {"wellknown", "oauth_callback"}
"""Served outside /api/v1 without an admin credential (the OAuth callback is authenticated by its state)."""


def _api_calls(client: TestClient) -> Iterator[tuple[str, str]]:
    """Every (method, path) of the admin API, from every route module but the public ones."""
    for info in pkgutil.iter_modules(routes.__path__):
        if info.name in PUBLIC_ROUTE_MODULES:
            continue
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            path = "/api/v1" + re.sub(r"\{[^}]+\}", "anything", route.path)
            for method in sorted(route.methods):
                yield method, path


def test_the_openapi_document_lists_exactly_the_checked_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    documented = {
        (method.upper(), re.sub(r"\{[^}]+\}", "anything", path))
        for path, item in paths.items()
        if path.startswith("/api/")
        for method in item
    }
    assert documented == set(_api_calls(client))


def test_the_admin_api_has_routes_to_check(client: TestClient) -> None:
    assert len(list(_api_calls(client))) >= 20


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["missing", "wrong", "not-bearer"],
)
def test_every_admin_route_refuses_a_request_without_the_admin_token(
    client: TestClient, headers: dict[str, str]
) -> None:
    client.headers.pop("Authorization")
    for method, path in _api_calls(client):
        response = client.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["detail"]


def test_an_empty_configured_admin_token_refuses_every_request(tmp_path: Path) -> None:
    settings = ControlPlaneSettings(
        state_dir=tmp_path, admin_token="", database_url=f"sqlite:///{tmp_path}/db"
    )
    with TestClient(create_app(settings, start_distribution=False)) as client:
        for header in ({}, {"Authorization": "Bearer "}):
            response = client.get("/api/v1/workspaces", headers=header)
            assert response.status_code == 401
            assert "no admin token" in response.json()["detail"]


def test_health_answers_without_a_token(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}

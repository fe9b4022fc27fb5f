"""Helpers for the per-user OAuth end-to-end tests: users with keys, a browser that logs in at the
real OIDC provider, raw MCP calls, and a dump of every database row."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from sqlalchemy import MetaData, create_engine, select

from control_plane.crypto import SecretBox
from tests.e2e.gateway import Gateway
from tests.idp.oidc import SCOPE, UPSTREAM_APP, OidcProvider

ACCEPT = "application/json, text/event-stream"


@dataclass
class Person:
    """A gateway user: their id, an admin API token (to connect) and an agent key they own."""

    name: str
    user_id: str
    admin_token: str
    key: str

    def admin(self, gw: Gateway, method: str, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return httpx.request(method, f"{gw.admin_url}/api/v1{path}", headers=headers, timeout=30)


def register_user_oauth_server(gw: Gateway, idp: OidcProvider) -> None:
    """Server ``py`` with per-user OAuth at the provider (endpoints discovered from its issuer)."""
    gw.register_upstream(
        auth={
            "type": "oauth2_user",
            "issuer": idp.issuer,
            "client_id": UPSTREAM_APP[0],
            "client_secret": UPSTREAM_APP[1],
            "scopes": ["openid", SCOPE],
            "resource": gw.upstream_url,
        }
    )


def person(gw: Gateway, name: str) -> Person:
    """A member of ``demo`` granted server ``py``, with an admin token and an owned key."""
    user = gw.admin_ok("POST", "/users", json={"email": f"{name}@example.test", "name": name})
    gw.admin_ok("POST", "/workspaces/demo/members", json={"user": user["id"], "role": "member"})
    gw.admin_ok(
        "POST",
        "/grants",
        json={"name": f"{name}-py", "server": "py", "subject": {"kind": "user", "id": user["id"]}},
    )
    token = gw.admin_ok("POST", "/admin-tokens", json={"name": name, "user_id": user["id"]})["token"]
    key = gw.admin_ok("POST", "/keys", json={"name": f"{name}-key", "workspace": "demo", "owner": user["id"]})
    return Person(name=name, user_id=user["id"], admin_token=token, key=key["secret"])


def start_connecting(gw: Gateway, who: Person) -> str:
    """The authorization URL the control plane gives ``who`` for server ``py``."""
    response = who.admin(gw, "POST", "/me/connections/py")
    assert response.status_code == 201, response.text
    url: str = response.json()["authorization_url"]
    return url


def log_in(authorization_url: str, account: str, *, stop_at: str) -> str:
    """Follow the authorization URL like a browser, logging in as ``account`` at the provider;
    returns the redirect URL that starts with ``stop_at`` (not fetched)."""
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        url = authorization_url
        for _ in range(12):
            response = browser.get(url)
            location = response.headers.get("location")
            assert response.status_code in (302, 303) and location, (
                f"{response.status_code}: {response.text[:300]}"
            )
            url = str(response.url.join(location))
            if url.startswith(stop_at):
                return url
            if "/interaction/" in url:
                url += ("&" if "?" in url else "?") + f"account={account}"
    raise AssertionError("the authorization flow did not come back to the gateway")


def connect(gw: Gateway, who: Person) -> None:
    """The whole connect flow for ``who`` (their provider account has the same name)."""
    callback = log_in(start_connecting(gw, who), who.name, stop_at=f"{gw.admin_url}/oauth/callback")
    response = httpx.get(callback, timeout=30)
    assert response.status_code == 200, response.text
    assert "Connected" in response.text


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def mcp_post(
    gw: Gateway, key: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    """One raw JSON-RPC POST to ``/py/mcp``."""
    headers = {"Authorization": f"Bearer {key}", "Accept": ACCEPT, **(headers or {})}
    return httpx.post(gw.mcp_url("py"), json=body, headers=headers, timeout=30)


def initialize(gw: Gateway, key: str) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    return mcp_post(gw, key, body)


def claims(jwt: str) -> dict[str, Any]:
    """The payload of a JWT (read only: the upstream would verify it)."""
    payload = jwt.split(".")[1]
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return result


def dump_database(gw: Gateway) -> str:
    """Every row of every table of the control plane's database, as text."""
    engine = create_engine(gw.database_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            rows = [
                repr(row) for table in metadata.sorted_tables for row in connection.execute(select(table))
            ]
    finally:
        engine.dispose()
    return "\n".join(rows)


def stored_refresh_token(gw: Gateway, user_id: str) -> str:
    """Decrypt a user's stored refresh token with the control plane's master key (as only it can)."""
    engine = create_engine(gw.database_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine, only=["user_connection"])
        table = metadata.tables["user_connection"]
        with engine.connect() as connection:
            row = connection.execute(select(table).where(table.c.user_id == user_id)).one()
    finally:
        engine.dispose()
    box = SecretBox.from_config("", gw.cp_state / "master.key")
    return box.decrypt(row.refresh_token_encrypted)


MCP_CLIENT_REDIRECT = "http://127.0.0.1:9/callback"


def user_access_token(idp: OidcProvider, *, resource: str, account: str) -> str:
    """An access token of ``account`` for ``resource``, as an MCP client gets one (the provider's
    public ``mcp-client``: authorization code + PKCE, the user logging in at the provider)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": "mcp-client",
        "redirect_uri": MCP_CLIENT_REDIRECT,
        "scope": SCOPE,
        "resource": resource,
        "state": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    callback = log_in(f"{idp.url('/auth')}?{urlencode(params)}", account, stop_at=MCP_CLIENT_REDIRECT)
    form = {
        "grant_type": "authorization_code",
        "code": query(callback)["code"],
        "redirect_uri": MCP_CLIENT_REDIRECT,
        "code_verifier": verifier,
        "client_id": "mcp-client",
        "resource": resource,
    }
    response = httpx.post(idp.url("/token"), data=form, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])

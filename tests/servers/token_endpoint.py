"""A minimal OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials) for tests.

A test harness standing in for an authorization server: it issues opaque random access
tokens to one registered client, authenticated with ``client_secret_basic`` (RFC 6749 §2.3.1,
form-urlencoded id and secret) or ``client_secret_post``, and records every request so tests
can count fetches and check what the gateway sent. Runs in the test's event loop (serve
:meth:`TokenEndpoint.app` with ``tests.data_plane.dpkit.serving``).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from urllib.parse import unquote

from aiohttp import web


@dataclass
class TokenRequest:
    """What one token request carried (the client secret is not kept)."""

    auth_method: str
    form: dict[str, str]


@dataclass
class TokenEndpoint:
    """One registered client; ``fail_with`` makes every request answer that status."""

    client_id: str
    client_secret: str
    expires_in: int = 3600
    fail_with: int | None = None
    issued: list[str] = field(default_factory=list)
    requests: list[TokenRequest] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self.handle)
        return app

    def _client(self, request: web.Request, form: dict[str, str]) -> tuple[str, str, str] | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            return "client_secret_basic", unquote(client_id), unquote(secret)
        if "client_id" in form:
            return "client_secret_post", form["client_id"], form.get("client_secret", "")
        return None

    async def handle(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        client = self._client(request, form)
        method = client[0] if client else "none"
        self.requests.append(TokenRequest(method, {k: v for k, v in form.items() if k != "client_secret"}))
        if self.fail_with is not None:
            return web.json_response({"error": "temporarily_unavailable"}, status=self.fail_with)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if client is None or (client[1], client[2]) != (self.client_id, self.client_secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = secrets.token_urlsafe(24)
        self.issued.append(token)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
        if "scope" in form:
            body["scope"] = form["scope"]
        return web.json_response(body, headers={"Cache-Control": "no-store"})

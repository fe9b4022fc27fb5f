"""Talking to an upstream's authorization server: metadata discovery and token requests.

Synchronous (httpx), bounded in time and size, never following redirects. Errors never carry
a token or a secret: :class:`OAuthRefused` holds the server's ``error`` code and a cut
``error_description``; :class:`AuthorizationServerUnavailable` says what failed.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from threading import Lock
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
METADATA_TTL_SECONDS = 300.0
DEFAULT_EXPIRES_IN = 300
MAX_BODY_BYTES = 256 * 1024


class AuthorizationServerUnavailable(Exception):
    """The authorization server could not be reached or answered something unusable."""


class OAuthRefused(Exception):
    """The authorization server refused a grant (RFC 6749 §5.2 error)."""

    def __init__(self, error: str, description: str = "") -> None:
        self.error = error[:64]
        self.description = description[:200]
        super().__init__(f"{self.error}: {self.description}" if self.description else self.error)


@dataclass(frozen=True, slots=True)
class ClientAuth:
    """The gateway's client registration at an authorization server."""

    client_id: str
    client_secret: str = field(repr=False)
    method: str = "client_secret_basic"


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the authorization server takes authorization requests, tokens and revocations."""

    issuer: str
    authorization_url: str
    token_url: str
    revocation_url: str


@dataclass(frozen=True, slots=True)
class TokenSet:
    """A token response (never log it)."""

    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str = field(default="", repr=False)
    scope: str = ""


def metadata_urls(issuer: str) -> list[str]:
    """RFC 8414 metadata URL (well-known segment inserted before the issuer's path), then OpenID's."""
    parts = urlsplit(issuer.rstrip("/"))
    origin = f"{parts.scheme}://{parts.netloc}"
    return [
        f"{origin}/.well-known/oauth-authorization-server{parts.path}",
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
    ]


class MetadataCache:
    """Authorization-server metadata per issuer, kept for a few minutes."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http
        self._lock = Lock()
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, issuer: str) -> dict[str, Any]:
        """The metadata document of ``issuer`` (its ``issuer`` must match exactly)."""
        with self._lock:
            cached = self._entries.get(issuer)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        problems = []
        for url in metadata_urls(issuer):
            try:
                response = self._http.get(url, timeout=TIMEOUT, follow_redirects=False)
            except httpx.HTTPError as exc:
                problems.append(f"{url}: {type(exc).__name__}")
                continue
            if response.status_code != 200:
                problems.append(f"{url}: {response.status_code}")
                continue
            document = _json(response, "authorization server metadata")
            if document.get("issuer") != issuer:
                raise AuthorizationServerUnavailable(f"the metadata at {url} names another issuer")
            with self._lock:
                self._entries[issuer] = (time.monotonic() + METADATA_TTL_SECONDS, document)
            return document
        raise AuthorizationServerUnavailable("no authorization server metadata: " + "; ".join(problems))


def resolve_endpoints(auth: dict[str, Any], metadata: MetadataCache) -> Endpoints:
    """The endpoints of a server's ``oauth2_user`` credential: as configured, else discovered."""
    issuer = str(auth.get("issuer") or "")
    authorization_url = str(auth.get("authorization_url") or "")
    token_url = str(auth.get("token_url") or "")
    revocation_url = str(auth.get("revocation_url") or "")
    if issuer and not (authorization_url and token_url and revocation_url):
        document = metadata.get(issuer)
        authorization_url = authorization_url or str(document.get("authorization_endpoint") or "")
        token_url = token_url or str(document.get("token_endpoint") or "")
        revocation_url = revocation_url or str(document.get("revocation_endpoint") or "")
    if not authorization_url or not token_url:
        raise AuthorizationServerUnavailable(
            "the authorization server names no authorization or token endpoint"
        )
    return Endpoints(issuer, authorization_url, token_url, revocation_url)


def _basic(client: ClientAuth) -> str:
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if len(response.content) > MAX_BODY_BYTES:
        raise AuthorizationServerUnavailable(f"the {what} is too large")
    try:
        document = response.json()
    except ValueError as exc:
        raise AuthorizationServerUnavailable(f"the {what} is not JSON") from exc
    if not isinstance(document, dict):
        raise AuthorizationServerUnavailable(f"the {what} is not a JSON object")
    return document


def post_form(http: httpx.Client, url: str, form: dict[str, str], client: ClientAuth) -> httpx.Response:
    """POST ``form`` to an endpoint of the authorization server, authenticated as ``client``."""
    headers = {"Accept": "application/json"}
    if client.method == "client_secret_post":
        form = {**form, "client_id": client.client_id, "client_secret": client.client_secret}
    else:
        headers["Authorization"] = _basic(client)
    try:
        return http.post(url, data=form, headers=headers, timeout=TIMEOUT, follow_redirects=False)
    except httpx.TimeoutException as exc:
        raise AuthorizationServerUnavailable("the token endpoint did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise AuthorizationServerUnavailable(
            f"the token endpoint is unreachable: {type(exc).__name__}"
        ) from exc


def token_request(http: httpx.Client, url: str, form: dict[str, str], client: ClientAuth) -> TokenSet:
    """One grant at the token endpoint; :class:`OAuthRefused` for a 4xx error answer."""
    response = post_form(http, url, form, client)
    if response.status_code >= 500:
        raise AuthorizationServerUnavailable(f"the token endpoint answered {response.status_code}")
    if response.status_code != 200:
        try:
            document = _json(response, "error answer")
        except AuthorizationServerUnavailable:
            document = {}
        raise OAuthRefused(
            str(document.get("error") or f"http_{response.status_code}"),
            str(document.get("error_description") or ""),
        )
    document = _json(response, "token response")
    token = document.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthorizationServerUnavailable("the token response has no access_token")
    token_type = document.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise AuthorizationServerUnavailable("the token response is not a Bearer token")
    expires_in = document.get("expires_in", DEFAULT_EXPIRES_IN)
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN
    refresh = document.get("refresh_token")
    scope = document.get("scope")
    return TokenSet(
        access_token=token,
        expires_in=float(expires_in),
        refresh_token=refresh if isinstance(refresh, str) else "",
        scope=scope if isinstance(scope, str) else "",
    )


def revoke(http: httpx.Client, url: str, token: str, client: ClientAuth) -> bool:
    """RFC 7009 revocation of a refresh token; whether the server accepted it (best effort)."""
    try:
        response = post_form(http, url, {"token": token, "token_type_hint": "refresh_token"}, client)
    except AuthorizationServerUnavailable:
        return False
    return response.status_code == 200

"""Per-user OAuth: the connect flow (authorization code + PKCE) and the access-token broker.

* **Connect.** :meth:`UserOAuth.start` makes a random ``state`` (stored only as its SHA-256,
  bound to the user and the server, valid :data:`AUTHORIZATION_TTL` seconds) and a PKCE S256
  verifier (stored encrypted), and returns the authorization URL with the exact redirect URI
  ``{MCPGW_CP_PUBLIC_URL}/oauth/callback``. :meth:`UserOAuth.finish` consumes the state once
  (committed before anything else, so a replay fails even when the exchange fails), checks the
  expiry and the ``iss`` parameter (RFC 9207), exchanges the code with the verifier, and stores
  the refresh and access tokens encrypted with the master key.
* **Broker.** Refresh tokens may rotate, so several data planes must never refresh with the same
  one: only the control plane refreshes. :meth:`UserOAuth.access_token` answers a data plane's
  ``UserTokens.Get``: the stored access token while it has time left, else a refresh, single
  flight per (user, server) in this process (an asyncio lock) and across control-plane replicas
  (the row is locked ``FOR UPDATE`` on PostgreSQL while refreshing). A rotated refresh token is
  persisted in the same transaction. A refused refresh (``invalid_grant``: revoked or expired)
  marks the connection ``needs_reconnect``.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlmodel import Session

from control_plane.crypto import SecretBox, SecretBoxError
from control_plane.db import Database
from control_plane.models import OAuthAuthorization, Server, User, UserConnection
from control_plane.models.common import utcnow
from control_plane.models.user_oauth import ConnectionStarted
from control_plane.repos import servers, user_connections
from control_plane.repos.errors import NotFound
from control_plane.repos.user_connections import aware
from control_plane.user_oauth.client import (
    AuthorizationServerUnavailable,
    ClientAuth,
    Endpoints,
    MetadataCache,
    OAuthRefused,
    TokenSet,
    resolve_endpoints,
    revoke,
    token_request,
)

logger = logging.getLogger(__name__)

RunBlocking = Callable[[Callable[[], "TokenAnswer"]], Awaitable["TokenAnswer"]]

AUTHORIZATION_TTL = timedelta(minutes=10)
CALLBACK_PATH = "/oauth/callback"


class CallbackRefused(Exception):
    """The callback cannot complete a connection (the reason is safe to show the user)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TokenStatus(enum.Enum):
    """How a data plane's request for a user's access token ended."""

    OK = "ok"
    NOT_CONNECTED = "not_connected"
    RECONNECT = "reconnect"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    """An access token (never log it) or why there is none (a message for the user)."""

    status: TokenStatus
    access_token: str = field(default="", repr=False)
    expires_in: float = 0.0
    message: str = ""


@dataclass(frozen=True, slots=True)
class Connected:
    """What the callback page tells the user."""

    server: str
    email: str


def state_hash(state: str) -> str:
    """How a state is stored and found (the state itself is only in the authorization URL)."""
    return hashlib.sha256(state.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def refresh_margin(lifetime: float) -> float:
    """How long before expiry the broker refreshes: a quarter of the lifetime, at most 60 s.

    A little more than the data plane's own margin (20 %), so a data plane asking again just
    before its cached copy runs out gets a fresh token, not the same one.
    """
    return min(60.0, 0.25 * lifetime)


def uses_user_oauth(server: Server) -> bool:
    """Whether ``server`` authenticates to its upstream with per-user OAuth."""
    return (server.auth or {}).get("type") == "oauth2_user"


class UserOAuth:
    """The connect flow and the token broker of one control plane."""

    def __init__(
        self, *, db: Database, secrets: SecretBox, public_url: str, http: httpx.Client | None = None
    ) -> None:
        self._db = db
        self._secrets = secrets
        self._public_url = public_url.rstrip("/")
        self._http = http or httpx.Client(trust_env=False)
        self._metadata = MetadataCache(self._http)
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @property
    def redirect_uri(self) -> str:
        """The one redirect URI the authorization server must have registered for the gateway."""
        return self._public_url + CALLBACK_PATH

    def connect_url(self, slug: str) -> str:
        """Where a user starts connecting their account to ``slug`` (POST, signed in)."""
        return f"{self._public_url}/api/v1/me/connections/{slug}"

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()

    def _client(self, server: Server) -> tuple[dict[str, Any], ClientAuth]:
        auth = dict(server.auth or {})
        try:
            secret = self._secrets.decrypt(server.auth_secret_encrypted)
        except SecretBoxError as exc:
            raise AuthorizationServerUnavailable(
                f"the client secret of server {server.slug!r} cannot be decrypted"
            ) from exc
        method = str(auth.get("auth_method") or "client_secret_basic")
        return auth, ClientAuth(client_id=str(auth.get("client_id")), client_secret=secret, method=method)

    def _endpoints(self, auth: dict[str, Any]) -> Endpoints:
        return resolve_endpoints(auth, self._metadata)

    # --- connect flow ------------------------------------------------------------------------

    def start(self, session: Session, *, user_id: str, server: Server) -> ConnectionStarted:
        """Begin connecting ``user_id`` to ``server``: the authorization URL to open.

        Raises :class:`AuthorizationServerUnavailable` when the endpoints cannot be discovered.
        """
        auth, client = self._client(server)
        endpoints = self._endpoints(auth)
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        now = utcnow()
        expires_at = now + AUTHORIZATION_TTL
        user_connections.save_authorization(
            session,
            OAuthAuthorization(
                state_hash=state_hash(state),
                user_id=user_id,
                server_id=server.id,
                verifier_encrypted=self._secrets.encrypt(verifier),
                redirect_uri=self.redirect_uri,
                expires_at=expires_at,
            ),
            now=now,
        )
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        scopes = auth.get("scopes") or []
        if scopes:
            params["scope"] = " ".join(scopes)
        if auth.get("resource"):
            params["resource"] = str(auth["resource"])
        separator = "&" if "?" in endpoints.authorization_url else "?"
        url = endpoints.authorization_url + separator + urlencode(params)
        return ConnectionStarted(server=server.slug, authorization_url=url, expires_at=expires_at)

    def finish(self, *, state: str, code: str, error: str, iss: str) -> Connected:
        """Complete a connection from the authorization server's redirect.

        Raises :class:`CallbackRefused` with a reason for the user.
        """
        if not state:
            raise CallbackRefused("the callback carries no state")
        with self._db.transaction() as session:
            pending = user_connections.consume_authorization(session, state_hash=state_hash(state))
        if pending is None:
            raise CallbackRefused("unknown or already used state: start connecting again")
        if aware(pending.expires_at) <= utcnow():
            raise CallbackRefused("the authorization expired: start connecting again")
        if error:
            raise CallbackRefused(f"the authorization server refused: {error[:64]}")
        if not code:
            raise CallbackRefused("the callback carries no authorization code")
        with self._db.transaction() as session:
            server = session.get(Server, pending.server_id)
            user = session.get(User, pending.user_id)
            if server is None or user is None or not uses_user_oauth(server):
                raise CallbackRefused("the server or user no longer exists or no longer uses per-user OAuth")
            try:
                auth, client = self._client(server)
                endpoints = self._endpoints(auth)
            except AuthorizationServerUnavailable as exc:
                raise CallbackRefused(str(exc)) from exc
            slug, email = server.slug, user.email
        if iss and endpoints.issuer and iss != endpoints.issuer:
            # RFC 9207: the answer came from another authorization server (mix-up attack).
            raise CallbackRefused("the callback's issuer is not the server's authorization server")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": self._secrets.decrypt(pending.verifier_encrypted),
        }
        if auth.get("resource"):
            form["resource"] = str(auth["resource"])
        try:
            tokens = token_request(self._http, endpoints.token_url, form, client)
        except OAuthRefused as exc:
            raise CallbackRefused(f"the authorization server refused the code ({exc.error})") from exc
        except AuthorizationServerUnavailable as exc:
            raise CallbackRefused(str(exc)) from exc
        with self._db.transaction() as session:
            row = user_connections.find(session, user_id=pending.user_id, server_id=pending.server_id)
            row = row or UserConnection(user_id=pending.user_id, server_id=pending.server_id)
            self._store(row, tokens, scopes=auth.get("scopes") or [], now=utcnow())
            row.created_at = utcnow()
            session.add(row)
        logger.info("user %s connected server %s", pending.user_id, slug)
        return Connected(server=slug, email=email)

    def _store(self, row: UserConnection, tokens: TokenSet, *, scopes: list[str], now: datetime) -> None:
        row.access_token_encrypted = self._secrets.encrypt(tokens.access_token)
        row.access_expires_at = now + timedelta(seconds=tokens.expires_in)
        if tokens.refresh_token:
            row.refresh_token_encrypted = self._secrets.encrypt(tokens.refresh_token)
        row.scopes = tokens.scope.split() if tokens.scope else list(scopes)
        row.status = "connected"
        row.last_error = ""
        row.refreshed_at = now
        row.updated_at = now

    def disconnect(self, session: Session, *, user_id: str, server: Server) -> None:
        """Forget the user's connection (and revoke its refresh token at the server, best effort)."""
        row = user_connections.find(session, user_id=user_id, server_id=server.id)
        if row is None:
            raise NotFound(f"you have no connection to server {server.slug!r}")
        session.delete(row)
        session.flush()
        if not row.refresh_token_encrypted or not uses_user_oauth(server):
            return
        try:
            auth, client = self._client(server)
            endpoints = self._endpoints(auth)
            if endpoints.revocation_url:
                token = self._secrets.decrypt(row.refresh_token_encrypted)
                revoke(self._http, endpoints.revocation_url, token, client)
        except (AuthorizationServerUnavailable, SecretBoxError) as exc:
            logger.warning("revoking the refresh token of a disconnected user failed: %s", exc)

    # --- broker ------------------------------------------------------------------------------

    async def access_token(self, *, user_id: str, slug: str, run: RunBlocking | None = None) -> TokenAnswer:
        """A fresh access token of ``user_id`` for server ``slug`` (single flight per pair).

        ``run`` runs the blocking work (database, token endpoint) in a thread; by default
        ``asyncio.to_thread``.
        """
        lock = self._locks.setdefault((user_id, slug), asyncio.Lock())
        async with lock:
            work = partial(self._access_token, user_id, slug)
            return await (run(work) if run is not None else asyncio.to_thread(work))

    def _access_token(self, user_id: str, slug: str) -> TokenAnswer:
        with self._db.transaction() as session:
            server = servers.find(session, slug=slug)
            if server is None or not uses_user_oauth(server):
                return TokenAnswer(
                    TokenStatus.UNAVAILABLE, message=f"server '{slug}' does not use per-user OAuth"
                )
            row = user_connections.find(session, user_id=user_id, server_id=server.id, lock=True)
            if row is None:
                return TokenAnswer(
                    TokenStatus.NOT_CONNECTED,
                    message=(
                        f"server '{slug}' acts with your own account there, and you have not connected it: "
                        f"connect at {self.connect_url(slug)} (POST, signed in to the admin API) "
                        "and open the authorization_url it returns"
                    ),
                )
            if row.status != "connected":
                return self._reconnect(slug, row.last_error)
            return self._current_or_refreshed(session, server, row)

    def _reconnect(self, slug: str, why: str) -> TokenAnswer:
        because = f" ({why})" if why else ""
        return TokenAnswer(
            TokenStatus.RECONNECT,
            message=(
                f"your connection to server '{slug}' expired or was revoked{because}: reconnect at "
                f"{self.connect_url(slug)} (POST, signed in to the admin API) "
                "and open the authorization_url it returns"
            ),
        )

    def _current_or_refreshed(self, session: Session, server: Server, row: UserConnection) -> TokenAnswer:
        now = utcnow()
        remaining = (aware(row.access_expires_at) - now).total_seconds() if row.access_expires_at else 0.0
        issued = aware(row.refreshed_at or row.created_at)
        lifetime = (aware(row.access_expires_at) - issued).total_seconds() if row.access_expires_at else 0.0
        if row.access_token_encrypted and remaining > refresh_margin(lifetime):
            return TokenAnswer(TokenStatus.OK, self._secrets.decrypt(row.access_token_encrypted), remaining)
        if not row.refresh_token_encrypted:
            return self._needs_reconnect(
                session, server.slug, row, "the access token expired and no refresh token was issued"
            )
        try:
            auth, client = self._client(server)
            endpoints = self._endpoints(auth)
            form = {
                "grant_type": "refresh_token",
                "refresh_token": self._secrets.decrypt(row.refresh_token_encrypted),
            }
            if auth.get("resource"):
                form["resource"] = str(auth["resource"])
            tokens = token_request(self._http, endpoints.token_url, form, client)
        except OAuthRefused as exc:
            return self._needs_reconnect(
                session, server.slug, row, f"the authorization server said {exc.error}"
            )
        except AuthorizationServerUnavailable as exc:
            if row.access_token_encrypted and remaining > 0:
                return TokenAnswer(
                    TokenStatus.OK, self._secrets.decrypt(row.access_token_encrypted), remaining
                )
            return TokenAnswer(
                TokenStatus.UNAVAILABLE,
                message=f"refreshing your token for server '{server.slug}' failed: {exc}",
            )
        self._store(row, tokens, scopes=list(row.scopes), now=now)
        session.add(row)
        return TokenAnswer(TokenStatus.OK, tokens.access_token, tokens.expires_in)

    def _needs_reconnect(self, session: Session, slug: str, row: UserConnection, why: str) -> TokenAnswer:
        row.status = "needs_reconnect"
        row.last_error = why[:500]
        row.access_token_encrypted = ""
        row.refresh_token_encrypted = ""  # refused: useless, and not worth keeping
        row.updated_at = utcnow()
        session.add(row)
        logger.info("connection of user %s to server %s needs reconnecting: %s", row.user_id, slug, why)
        return self._reconnect(slug, why)

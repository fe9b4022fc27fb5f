"""The upstream HTTP client: one keep-alive ``aiohttp.ClientSession`` shared by all requests.

Started and closed through the app's ``cleanup_ctx``. No cookie jar (upstream cookies must
never leak between clients), no automatic decompression (bytes pass through as they are),
no connection-count cap (long-lived SSE streams must not starve other requests).

It also holds the :class:`~data_plane.runtime.upstream_tokens.TokenManager` instances of upstream
tokens: OAuth client-credentials tokens and RFC 8693 exchanges (fetched on the same session),
and users' own tokens (asked of the control plane's broker).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp

from data_plane.runtime.stdio.launch import STDIO_ORIGIN
from data_plane.runtime.token_exchange import ExchangeKey, exchange_token
from data_plane.runtime.upstream_credentials import ClientCredentials
from data_plane.runtime.upstream_tokens import CredentialUnavailable, Token, TokenManager, fetch_token
from data_plane.runtime.user_tokens import UserTokenKey, UserTokenSource


class UpstreamClient:
    """Opens upstream requests on a shared connection pool."""

    def __init__(
        self,
        *,
        keepalive_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        stdio_socket: Path | None = None,
        user_token_source: UserTokenSource | None = None,
    ) -> None:
        self._keepalive = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None
        self._stdio_socket = stdio_socket
        self._stdio: aiohttp.ClientSession | None = None
        self._user_token_source = user_token_source or UserTokenSource(target=None, group="", group_key=None)
        self.tokens = TokenManager(self._fetch_token, clock=clock)
        self.user_tokens = TokenManager[UserTokenKey](self._user_token_source.fetch, clock=clock)
        """Users' own tokens (per-user OAuth), from the control plane's broker."""
        self.exchanged = TokenManager[ExchangeKey](self._exchange, clock=clock)
        """Tokens obtained by RFC 8693 exchange of callers' IdP tokens."""

    async def _fetch_token(self, creds: ClientCredentials) -> Token:
        if self._session is None:
            raise CredentialUnavailable("the gateway's upstream client is not started")
        return await fetch_token(self._session, creds)

    async def _exchange(self, key: ExchangeKey) -> Token:
        if self._session is None:
            raise CredentialUnavailable("the gateway's upstream client is not started")
        return await exchange_token(self._session, key)

    async def start(self) -> None:
        """Create the session (needs the running loop)."""
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=self._keepalive)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("Accept-Encoding",),
            trust_env=False,
        )
        if self._stdio_socket is not None:
            # Stdio upstreams: their URLs name the stdio host, reached over its unix socket.
            self._stdio = aiohttp.ClientSession(
                connector=aiohttp.UnixConnector(path=str(self._stdio_socket)),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("Accept-Encoding",),
            )

    async def close(self) -> None:
        """Close the session and its connections."""
        await self.tokens.close()
        await self.user_tokens.close()
        await self.exchanged.close()
        await self._user_token_source.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._stdio is not None:
            await self._stdio.close()
            self._stdio = None

    async def open(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        client_timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        """Send the request and return once the response headers arrived (body not read).

        Raises ``aiohttp.ClientError`` or ``TimeoutError``; the caller releases the response.
        """
        session = self._stdio if url.startswith(STDIO_ORIGIN) else self._session
        if session is None:
            raise aiohttp.ClientConnectionError("upstream client is not started (or runs no stdio servers)")
        return await session.request(
            method, url, data=body or None, headers=headers, timeout=client_timeout, allow_redirects=False
        )

"""The upstream HTTP client: one keep-alive ``aiohttp.ClientSession`` shared by all requests.

Started and closed through the app's ``cleanup_ctx``. No cookie jar (upstream cookies must
never leak between clients), no automatic decompression (bytes pass through as they are),
no connection-count cap (long-lived SSE streams must not starve other requests).
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp


class UpstreamClient:
    """Opens upstream requests on a shared connection pool."""

    def __init__(self, *, keepalive_seconds: float = 60.0) -> None:
        self._keepalive = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None

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

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

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
        if self._session is None:
            raise aiohttp.ClientConnectionError("upstream client is not started")
        return await self._session.request(
            method, url, data=body or None, headers=headers, timeout=client_timeout, allow_redirects=False
        )

"""HTTP toward identity providers (discovery, JWKS, introspection): a small transport protocol.

Every identity component takes an :class:`IdentityHttp`, so tests can pass a real provider's
URL or a function; production uses :class:`AiohttpIdentityHttp`, one keep-alive session
started and closed by the app's ``cleanup_ctx``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import orjson

from shared.oidc import MAX_DOCUMENT_BYTES


class IdentityFetchError(Exception):
    """A provider endpoint could not be read; the message never holds a secret."""


class IdentityHttp(Protocol):
    """What the identity components need from HTTP."""

    async def get_json(self, url: str) -> Any:
        """GET ``url`` and decode its JSON body (raises :class:`IdentityFetchError`)."""
        ...

    async def post_form(self, url: str, form: Mapping[str, str], basic_auth: tuple[str, str]) -> Any:
        """POST a form with HTTP Basic client authentication; decode the JSON answer."""
        ...


class AiohttpIdentityHttp:
    """:class:`IdentityHttp` on an ``aiohttp.ClientSession`` with bounded time and size."""

    def __init__(self, *, timeout_seconds: float = 5.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Create the session (needs the running loop)."""
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
        )

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_json(self, url: str) -> Any:
        return await self._request("GET", url)

    async def post_form(self, url: str, form: Mapping[str, str], basic_auth: tuple[str, str]) -> Any:
        client_id, secret = (quote(part, safe="") for part in basic_auth)  # RFC 6749 2.3.1
        credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        headers = {"Authorization": f"Basic {credentials}"}
        return await self._request("POST", url, data=dict(form), headers=headers)

    async def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        if self._session is None:
            raise IdentityFetchError("identity HTTP client is not started")
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        try:
            async with self._session.request(
                method, url, headers=headers, allow_redirects=False, **kwargs
            ) as response:
                if response.status != 200:
                    raise IdentityFetchError(f"{method} {url} answered {response.status}")
                body = await response.content.read(MAX_DOCUMENT_BYTES + 1)
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise IdentityFetchError(f"{method} {url}: document too large")
                return _decode(body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise IdentityFetchError(f"{method} {url} failed: {type(exc).__name__}") from exc


def _decode(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise IdentityFetchError("the answer is not JSON") from exc

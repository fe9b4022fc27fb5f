"""Upstream OAuth tokens: fetched, cached per key, refreshed early.

One :class:`TokenManager` per kind of token: client-credentials tokens (keyed by server and
credential), per-user tokens from the control plane's broker (keyed by user and server,
``runtime/user_tokens.py``) and exchanged tokens (keyed by a digest of the caller's token and the
server, ``runtime/token_exchange.py``).

* **Cache** per key: a token is reused until its refresh time, which is
  ``expires_in`` minus 20 % of it, at most 60 s early (a one-hour token is refreshed after 59
  minutes, a 10 s token after 8 s).
* **Single flight**: concurrent requests needing the same token share one fetch.
* **Bounded retry**: a connection failure, a timeout or a 5xx answer is retried (three tries in
  all); a 4xx answer (bad client, bad scope) is not. While a refresh fails, a token that has not
  yet expired keeps being used.
* Failures raise :class:`CredentialUnavailable` whose message names the server and what went
  wrong, never a secret. :class:`AccessRefused` (the user must reconnect, the identity provider
  refused an exchange) is final: no retry, and no fallback to a cached token.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar
from urllib.parse import quote

import aiohttp
import orjson

from data_plane.runtime.upstream_credentials import ClientCredentials

logger = logging.getLogger(__name__)

ATTEMPTS = 3
RETRY_DELAY_SECONDS = 0.1
FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10, sock_connect=5)
DEFAULT_EXPIRES_IN = 300
"""Lifetime assumed when the token endpoint sends no ``expires_in`` (RFC 6749 makes it optional)."""


class CredentialUnavailable(Exception):
    """The upstream credential could not be obtained (the message holds no secret)."""


class Retryable(CredentialUnavailable):
    """A failure worth another try (connection, timeout, 5xx)."""


class AccessRefused(CredentialUnavailable):
    """The token is refused for this caller (no connection, revoked, exchange refused): final."""


class TokenKey(Hashable, Protocol):
    """What a token is cached by; ``server`` names it in messages and task names."""

    @property
    def server(self) -> str: ...


K = TypeVar("K", bound=TokenKey)


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and its lifetime in seconds."""

    access_token: str = field(repr=False)
    expires_in: float


@dataclass(frozen=True, slots=True)
class _Cached:
    token: Token = field(repr=False)
    refresh_at: float
    expires_at: float


MAX_ENTRIES = 10_000
"""Cached tokens per manager, at most (the oldest are dropped first)."""


def refresh_margin(expires_in: float) -> float:
    """How long before expiry a token is refreshed: 20 % of its lifetime, at most 60 s."""
    return min(60.0, 0.2 * expires_in)


def _basic(client_id: str, client_secret: str) -> str:
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def auth_headers(creds: ClientCredentials, form: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers of a token request authenticated as ``creds``' client."""
    headers = {"Accept": "application/json"}
    if creds.auth_method == "client_secret_post":
        return form | {"client_id": creds.client_id, "client_secret": creds.client_secret}, headers
    headers["Authorization"] = _basic(creds.client_id, creds.client_secret)
    return form, headers


async def post_token_request(
    session: aiohttp.ClientSession, url: str, form: dict[str, str], headers: dict[str, str], where: str
) -> tuple[int, bytes]:
    """POST a form to a token endpoint: (status, body) of an answer below 500; :class:`Retryable`
    when ``where`` (named in the message) times out, cannot be reached or answers 5xx."""
    try:
        async with session.post(
            url, data=form, headers=headers, timeout=FETCH_TIMEOUT, allow_redirects=False
        ) as response:
            status, body = response.status, await response.read()
    except TimeoutError as exc:
        raise Retryable(f"{where} did not answer in time") from exc
    except aiohttp.ClientError as exc:
        raise Retryable(f"{where} is unreachable: {type(exc).__name__}") from exc
    if status >= 500:
        raise Retryable(f"{where} answered {status}")
    return status, body


async def fetch_token(session: aiohttp.ClientSession, creds: ClientCredentials) -> Token:
    """One token request to ``creds.token_url``; raises :class:`CredentialUnavailable`."""
    form = {"grant_type": "client_credentials"}
    if creds.scopes:
        form["scope"] = " ".join(creds.scopes)
    if creds.audience:
        form["audience"] = creds.audience
    form, headers = auth_headers(creds, form)
    where = f"token endpoint of server '{creds.server}'"
    status, body = await post_token_request(session, creds.token_url, form, headers, where)
    if status != 200:
        raise CredentialUnavailable(f"{where} refused the client credentials ({status})")
    return parse_token(body, where)


def parse_token(body: bytes, where: str) -> Token:
    """A token response's access token and lifetime; :class:`CredentialUnavailable` if unusable."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CredentialUnavailable(f"{where} answered with something other than JSON") from exc
    token = document.get("access_token") if isinstance(document, dict) else None
    if not isinstance(token, str) or not token:
        raise CredentialUnavailable(f"{where} answered without an access_token")
    token_type = document.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise CredentialUnavailable(f"{where} issued a token of type {str(token_type)[:20]!r}, not Bearer")
    expires_in = document.get("expires_in", DEFAULT_EXPIRES_IN)
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN
    return Token(access_token=token, expires_in=float(expires_in))


class TokenManager(Generic[K]):
    """Caches tokens per key; one fetch at a time per key."""

    def __init__(
        self,
        fetch: Callable[[K], Awaitable[Token]],
        *,
        clock: Callable[[], float] = time.monotonic,
        attempts: int = ATTEMPTS,
        retry_delay: float = RETRY_DELAY_SECONDS,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._max_entries = max_entries
        self._cache: dict[K, _Cached] = {}
        self._inflight: dict[K, asyncio.Task[_Cached]] = {}
        self.fetches = 0
        """Token requests made (for health and tests)."""

    async def token(self, creds: K) -> str:
        """A valid access token for ``creds``; raises :class:`CredentialUnavailable`."""
        cached = self._cache.get(creds)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.token.access_token
        task = self._inflight.get(creds)
        if task is None:
            task = asyncio.create_task(self._refresh(creds), name=f"token-{creds.server}")
            self._inflight[creds] = task
            task.add_done_callback(lambda done: self._settled(creds, done))
        try:
            # Shielded: a caller that goes away must not cancel the fetch others wait on.
            return (await asyncio.shield(task)).token.access_token
        except AccessRefused:
            self._cache.pop(creds, None)
            raise
        except CredentialUnavailable:
            if cached is not None and self._clock() < cached.expires_at:
                return cached.token.access_token
            raise

    def _settled(self, creds: K, task: asyncio.Task[_Cached]) -> None:
        if self._inflight.get(creds) is task:
            del self._inflight[creds]
        if task.cancelled() or task.exception() is None:
            return
        level = logging.INFO if isinstance(task.exception(), AccessRefused) else logging.WARNING
        logger.log(level, "upstream credential: %s", task.exception())

    async def _refresh(self, creds: K) -> _Cached:
        for attempt in range(1, self._attempts + 1):
            self.fetches += 1
            try:
                token = await self._fetch(creds)
            except Retryable:
                if attempt == self._attempts:
                    raise
                await asyncio.sleep(self._retry_delay * attempt)
                continue
            now = self._clock()
            entry = _Cached(
                token=token,
                refresh_at=now + token.expires_in - refresh_margin(token.expires_in),
                expires_at=now + token.expires_in,
            )
            self._cache.pop(creds, None)
            if len(self._cache) >= self._max_entries:
                del self._cache[next(iter(self._cache))]
            self._cache[creds] = entry
            return entry
        raise CredentialUnavailable(f"no token for server '{creds.server}'")  # attempts < 1

    async def close(self) -> None:
        """Cancel fetches still running."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

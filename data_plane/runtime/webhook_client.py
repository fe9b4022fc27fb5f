"""What a workspace's webhooks (authorization, authentication) share: one HTTP session that POSTs
a JSON question and reads back a bounded JSON object, and a bounded cache of verdicts.

A verdict that may be cached lives for its seconds; one that may not (a failure) is kept just
long enough for the stage that asked to read it once, so a recovered webhook is asked again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import aiohttp
import orjson

MAX_ANSWER_BYTES = 64 * 1024

V = TypeVar("V")


class WebhookHttp:
    """POSTs JSON to webhooks: no cookies, no proxy from the environment, no redirects."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Create the HTTP session (needs the running loop)."""
        self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self,
        url: str,
        question: Mapping[str, Any],
        *,
        headers: tuple[tuple[str, str], ...],
        timeout_seconds: float,
    ) -> dict[str, Any] | str:
        """The answer object, or why there is none (I/O failures are answers, never raised).

        Failure texts name the URL's failure, never the question (it may carry a credential).
        """
        if self._session is None:
            return "the webhook client is not started"
        try:
            async with self._session.post(
                url,
                data=orjson.dumps(question),
                headers={"Content-Type": "application/json", **dict(headers)},
                timeout=aiohttp.ClientTimeout(total=timeout_seconds),
                allow_redirects=False,
            ) as response:
                if response.status != 200:
                    return f"the webhook answered HTTP {response.status}"
                body = await response.content.read(MAX_ANSWER_BYTES + 1)
        except TimeoutError:
            return f"the webhook did not answer within {timeout_seconds:g} s"
        except aiohttp.ClientError as exc:
            return f"the webhook is unreachable ({type(exc).__name__})"
        try:
            answer = orjson.loads(body) if len(body) <= MAX_ANSWER_BYTES else None
        except orjson.JSONDecodeError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("allow"), bool):
            return 'the webhook answer has no boolean "allow"'
        return answer


class VerdictCache(Generic[V]):
    """Verdicts by key: at most ``max_entries`` cached (least recently stored go first), plus
    verdicts to be read once."""

    def __init__(self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._cached: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._once: OrderedDict[str, V] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    def get(self, key: str) -> V | None:
        """The verdict for ``key`` if one is known and fresh (a read-once verdict is consumed)."""
        once = self._once.pop(key, None)
        if once is not None:
            return once
        cached = self._cached.get(key)
        if cached is None:
            return None
        expires, verdict = cached
        if expires <= self._clock():
            del self._cached[key]
            return None
        return verdict

    def put(self, key: str, verdict: V, seconds: float | None) -> None:
        """Remember ``verdict`` for ``seconds``; ``None`` or 0: for one read only."""
        store: OrderedDict[str, Any]
        if seconds:
            store = self._cached
            store[key] = (self._clock() + seconds, verdict)
        else:
            store = self._once
            store[key] = verdict
        store.move_to_end(key)
        while len(store) > self._max:
            store.popitem(last=False)

"""The authorization webhook: an endpoint a workspace configures to be asked before each call.

After the grants allowed a call that uses a tool, prompt or resource, the authorize stage asks
the webhook of the server's workspace (POST JSON: principal, server, method, item, arguments,
the rule that allowed it, snapshot version). The answer ``{"allow": bool, "reason": str}`` is
cached for the webhook's ``cache_seconds`` per (principal, server, method, item, arguments).
A webhook that times out, fails or answers anything else decides by its failure mode; such
verdicts are used once and never cached, so a recovered webhook is asked again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

logger = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024
MAX_REASON_CHARS = 300


@dataclass(frozen=True, slots=True)
class Webhook:
    """A workspace's authorization webhook, compiled from the snapshot (headers unsealed)."""

    workspace: str
    url: str
    timeout_seconds: float
    cache_seconds: float
    fail_open: bool
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    """``repr=False``: header values are credentials and never reach a log line."""

    @property
    def rule(self) -> str:
        return f"webhook:{self.workspace}"


@dataclass(frozen=True, slots=True)
class WebhookVerdict:
    """What the webhook (or its failure mode) decided."""

    allowed: bool
    rule: str
    reason: str


class WebhookDecider:
    """Asks webhooks and remembers their answers (bounded, per-entry expiry)."""

    def __init__(self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._cache: dict[str, tuple[float, WebhookVerdict]] = {}
        self._once: dict[str, WebhookVerdict] = {}
        self._max = max_entries
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Create the HTTP session (needs the running loop)."""
        self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def key(hook: Webhook, question: Mapping[str, Any]) -> str:
        """The cache key of a question (its canonical JSON, digested)."""
        blob = orjson.dumps({"url": hook.url, "q": question}, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(blob).hexdigest()

    def answer(self, key: str) -> WebhookVerdict | None:
        """The verdict for ``key`` if one is known and fresh (a failure verdict is used once)."""
        once = self._once.pop(key, None)
        if once is not None:
            return once
        cached = self._cache.get(key)
        if cached is None:
            return None
        expires, verdict = cached
        if expires <= self._clock():
            del self._cache[key]
            return None
        return verdict

    def ask(self, hook: Webhook, key: str, question: Mapping[str, Any]) -> Callable[[], Awaitable[None]]:
        """The I/O the authorize stage hands to the chain: ask, then remember the verdict."""

        async def fetch() -> None:
            verdict, cacheable = await self._post(hook, question)
            if cacheable and hook.cache_seconds > 0:
                if len(self._cache) >= self._max:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = (self._clock() + hook.cache_seconds, verdict)
            else:
                if len(self._once) >= self._max:
                    self._once.pop(next(iter(self._once)))
                self._once[key] = verdict

        return fetch

    async def _post(self, hook: Webhook, question: Mapping[str, Any]) -> tuple[WebhookVerdict, bool]:
        if self._session is None:
            return self._failed(hook, "the webhook client is not started"), False
        try:
            async with self._session.post(
                hook.url,
                data=orjson.dumps(question),
                headers={"Content-Type": "application/json", **dict(hook.headers)},
                timeout=aiohttp.ClientTimeout(total=hook.timeout_seconds),
                allow_redirects=False,
            ) as response:
                if response.status != 200:
                    return self._failed(hook, f"the webhook answered HTTP {response.status}"), False
                body = await response.content.read(MAX_ANSWER_BYTES + 1)
        except TimeoutError:
            return self._failed(hook, f"the webhook did not answer within {hook.timeout_seconds:g} s"), False
        except aiohttp.ClientError as exc:
            return self._failed(hook, f"the webhook is unreachable ({type(exc).__name__})"), False
        try:
            answer = orjson.loads(body) if len(body) <= MAX_ANSWER_BYTES else None
        except orjson.JSONDecodeError:
            answer = None
        allow = answer.get("allow") if isinstance(answer, dict) else None
        if not isinstance(allow, bool):
            return self._failed(hook, 'the webhook answer has no boolean "allow"'), False
        reason = answer.get("reason") if isinstance(answer, dict) else None
        text = reason[:MAX_REASON_CHARS] if isinstance(reason, str) and reason else ""
        return WebhookVerdict(
            allow, hook.rule, text or ("allowed" if allow else "denied by the webhook")
        ), True

    @staticmethod
    def _failed(hook: Webhook, what: str) -> WebhookVerdict:
        logger.warning("authorization webhook of workspace %s: %s", hook.workspace, what)
        mode = "allow" if hook.fail_open else "deny"
        return WebhookVerdict(hook.fail_open, f"{hook.rule}:failure-{mode}", f"{what}; failure mode: {mode}")

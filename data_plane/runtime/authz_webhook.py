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

import orjson

from data_plane.runtime.webhook_client import VerdictCache, WebhookHttp

logger = logging.getLogger(__name__)

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
        self._http = WebhookHttp()
        self._verdicts: VerdictCache[WebhookVerdict] = VerdictCache(max_entries=max_entries, clock=clock)

    async def start(self) -> None:
        """Create the HTTP session (needs the running loop)."""
        await self._http.start()

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()

    @staticmethod
    def key(hook: Webhook, question: Mapping[str, Any]) -> str:
        """The cache key of a question (its canonical JSON, digested)."""
        blob = orjson.dumps({"url": hook.url, "q": question}, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(blob).hexdigest()

    def answer(self, key: str) -> WebhookVerdict | None:
        """The verdict for ``key`` if one is known and fresh (a failure verdict is used once)."""
        return self._verdicts.get(key)

    def ask(self, hook: Webhook, key: str, question: Mapping[str, Any]) -> Callable[[], Awaitable[None]]:
        """The I/O the authorize stage hands to the chain: ask, then remember the verdict."""

        async def fetch() -> None:
            answer = await self._http.post(
                hook.url, question, headers=hook.headers, timeout_seconds=hook.timeout_seconds
            )
            if isinstance(answer, str):
                self._verdicts.put(key, _failed(hook, answer), None)
                return
            reason = answer.get("reason")
            text = reason[:MAX_REASON_CHARS] if isinstance(reason, str) and reason else ""
            allow = answer["allow"]
            verdict = WebhookVerdict(
                allow, hook.rule, text or ("allowed" if allow else "denied by the webhook")
            )
            self._verdicts.put(key, verdict, hook.cache_seconds)

        return fetch


def _failed(hook: Webhook, what: str) -> WebhookVerdict:
    logger.warning("authorization webhook of workspace %s: %s", hook.workspace, what)
    mode = "allow" if hook.fail_open else "deny"
    return WebhookVerdict(hook.fail_open, f"{hook.rule}:failure-{mode}", f"{what}; failure mode: {mode}")

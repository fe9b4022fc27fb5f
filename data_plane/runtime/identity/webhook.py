"""The authentication webhook: a workspace's HTTPS endpoint that verifies credentials the gateway
does not know (neither a gateway key nor a token its identity providers accept).

The data plane POSTs ``{"token", "server", "workspace"}`` (the webhook verifies the token, so it
must be sent; only over HTTPS, or plain HTTP to a loopback address, and never logged). The answer
``{"allow": true, "subject", "email"?, "groups"?, "roles"?, "team"?, "ttl"?}`` becomes a
principal; ``{"allow": false, "reason"?}`` a refusal. Both are cached by SHA-256 of (workspace,
URL, token) for ``ttl`` seconds capped by the webhook's ``max_cache_seconds``. A timeout, an
error status, an unreachable webhook or a malformed answer is a failure: used for the request
that asked, never cached, and decided by the failure mode (401 or 503). There is no fail-open
mode: a webhook that cannot answer has not said who the caller is, and an unknown credential
must never become a principal.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from data_plane.runtime.compiled import Principal
from data_plane.runtime.identity.providers import AuthnWebhook
from data_plane.runtime.webhook_client import VerdictCache, WebhookHttp

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 300
MAX_LIST_ITEMS = 256


@dataclass(frozen=True, slots=True)
class AuthnVerdict:
    """What the webhook (or its failure) decided about one credential."""

    principal: Principal | None
    reason: str = ""
    failed: bool = False
    """The webhook could not answer (timeout, unreachable, error status, malformed answer)."""


class AuthnWebhookClient:
    """Asks authentication webhooks and remembers their answers (bounded, per-entry expiry)."""

    def __init__(self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._http = WebhookHttp()
        self._verdicts: VerdictCache[AuthnVerdict] = VerdictCache(max_entries=max_entries, clock=clock)
        self.calls = 0
        """How many questions were sent (for tests and metrics)."""

    async def start(self) -> None:
        """Create the HTTP session (needs the running loop)."""
        await self._http.start()

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._http.close()

    @staticmethod
    def key(hook: AuthnWebhook, token: str) -> str:
        """The cache key of a credential at a webhook: a digest, never the credential."""
        return hashlib.sha256(f"{hook.workspace}\0{hook.url}\0{token}".encode()).hexdigest()

    def answer(self, key: str) -> AuthnVerdict | None:
        """The verdict for ``key`` if known and fresh (a failure verdict is used once)."""
        return self._verdicts.get(key)

    def ask(self, hook: AuthnWebhook, key: str, token: str, server: str) -> Callable[[], Awaitable[None]]:
        """The I/O the authenticate stage hands to the chain: ask, then remember the verdict."""

        async def fetch() -> None:
            self.calls += 1
            question = {"token": token, "server": server, "workspace": hook.workspace}
            answer = await self._http.post(
                hook.url, question, headers=hook.headers, timeout_seconds=hook.timeout_seconds
            )
            if isinstance(answer, str):
                self._verdicts.put(key, _failed(hook, answer), None)
            else:
                self._verdicts.put(key, *_verdict(hook, answer))

        return fetch


def _verdict(hook: AuthnWebhook, answer: Mapping[str, Any]) -> tuple[AuthnVerdict, float | None]:
    """The verdict of an answer with a boolean ``allow``, and how long it may be cached."""
    ttl = _ttl(hook, answer.get("ttl"))
    if ttl is None:
        return _failed(hook, 'the webhook answer has a "ttl" that is not a non-negative number'), None
    if not answer["allow"]:
        reason = _text(answer.get("reason")) or "the credential was refused by the authentication webhook"
        return AuthnVerdict(None, reason), ttl
    principal = _principal(hook, answer)
    if principal is None:
        return _failed(hook, 'the webhook allowed the credential without a string "subject"'), None
    return AuthnVerdict(principal), ttl


def _ttl(hook: AuthnWebhook, raw: Any) -> float | None:
    if raw is None:
        return hook.max_cache_seconds
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        return None
    return min(float(raw), hook.max_cache_seconds)


def _text(value: Any) -> str:
    return value[:MAX_TEXT_CHARS] if isinstance(value, str) else ""


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value[:MAX_TEXT_CHARS],) if value else ()
    if isinstance(value, list):
        return tuple(v[:MAX_TEXT_CHARS] for v in value[:MAX_LIST_ITEMS] if isinstance(v, str) and v)
    return ()


def _principal(hook: AuthnWebhook, answer: Mapping[str, Any]) -> Principal | None:
    """The principal an allowing answer names; resolved to users and teams like IdP claims."""
    subject = _text(answer.get("subject"))
    if not subject:
        return None
    email, team = _text(answer.get("email")), _text(answer.get("team"))
    groups, roles = _strings(answer.get("groups")), _strings(answer.get("roles"))
    stable = hashlib.sha256(f"{hook.url}\0{hook.workspace}\0{subject}".encode()).hexdigest()[:32]
    claims = {"sub": subject, "email": email, "groups": list(groups), "roles": list(roles), "team": team}
    return Principal(
        key_id=f"whk-{stable}",
        name=subject[:128],
        workspace=hook.workspace,
        expires_at=None,
        subject=subject,
        email=email,
        groups=groups,
        roles=roles,
        team=team,
        authenticator=hook.rule,
        claims=claims,
    )


def _failed(hook: AuthnWebhook, what: str) -> AuthnVerdict:
    logger.warning("authentication webhook of workspace %s: %s", hook.workspace, what)
    return AuthnVerdict(None, f"{what} (authentication webhook of workspace {hook.workspace!r})", failed=True)

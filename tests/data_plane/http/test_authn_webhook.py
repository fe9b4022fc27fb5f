"""The authentication webhook: the data plane asks a workspace's endpoint (a real aiohttp server
standing in for the customer's service) to verify a credential it does not know."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from data_plane import errors
from data_plane import keys as app_keys
from shared.sealing import seal
from shared.snapshot import AuthnWebhookEntry, Sealed, ToolEntry
from shared.snapshot.access import AccessSection, Grant, Selection, TeamEntry, UserEntry
from tests.data_plane.dpkit import RunningDataPlane, running_data_plane, serving
from tests.data_plane.http.test_access import client_for
from tests.data_plane.kit import WIDE, KeyPair

ACCEPT = "application/json, text/event-stream"
HOOK_SECRET = "authn-hook-secret-42"
GOOD = "customer-credential-good-0123456789"
BAD = "customer-credential-revoked-987654"
SLOW = "customer-credential-slow-555555555"
ODD = "customer-credential-malformed-4444"
NO_SUBJECT = "customer-credential-nosubject-333"

ACCESS = AccessSection(
    grants=[
        Grant(id="1", name="eng-echo", subject="team:t-eng", server="py", tools=Selection(include=["echo"])),
        Grant(id="2", name="dana-add", subject="user:u-dana", server="py", tools=Selection(include=["add"])),
    ],
    users={"u-dana": UserEntry(id="u-dana", email="dana@demo.test", workspaces=["demo"])},
    user_index={"email:dana@demo.test": "u-dana"},
    teams={"t-eng": TeamEntry(id="t-eng", slug="eng", workspace="demo", claim_values=["engineering"])},
)
TOOLS = {"echo": ToolEntry(), "add": ToolEntry()}


class Verifier:
    """The customer's credential service: knows GOOD, refuses BAD, hangs on SLOW, answers ODD badly."""

    def __init__(self) -> None:
        self.questions: list[dict[str, Any]] = []
        self.secrets: list[str | None] = []
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        question = await request.json()
        self.questions.append(question)
        self.secrets.append(request.headers.get("X-Hook-Secret"))
        token = question["token"]
        if token == GOOD:
            return web.json_response(
                {
                    "allow": True,
                    "subject": "svc-dana",
                    "email": "dana@demo.test",
                    "groups": ["engineering"],
                    "ttl": 120,
                }
            )
        if token == SLOW:
            await self.release.wait()  # never answers within the data plane's timeout
            return web.json_response({"allow": True, "subject": "late"})
        if token == ODD:
            return web.Response(text="<html>oops</html>", content_type="text/html")
        if token == NO_SUBJECT:
            return web.json_response({"allow": True, "groups": ["engineering"]})
        return web.json_response({"allow": False, "reason": "credential revoked", "ttl": 30})


@pytest.fixture
async def verifier() -> AsyncIterator[tuple[Verifier, str]]:
    service = Verifier()
    app = web.Application()
    app.router.add_post("/verify", service.handle)
    async with serving(app) as base_url:
        yield service, f"{base_url}/verify"
        service.release.set()


@asynccontextmanager
async def _data_plane(
    keys: KeyPair, tmp_path: Path, upstream: str, url: str, **settings: Any
) -> AsyncIterator[RunningDataPlane]:
    entry = AuthnWebhookEntry(
        url=url, headers={"X-Hook-Secret": Sealed(sealed=seal(HOOK_SECRET, keys.group_public))}, **settings
    )
    async with running_data_plane(
        keys, tmp_path, upstream, access=ACCESS, tools=TOOLS, authn_webhooks={"demo": entry}
    ) as running:
        yield running


async def _ping(dp: RunningDataPlane, token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(
            dp.mcp_url(),
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
        )


async def test_a_credential_the_webhook_vouches_for_becomes_a_user_with_teams_and_is_asked_once(
    keys: KeyPair, tmp_path: Path, json_upstream: str, verifier: tuple[Verifier, str]
) -> None:
    service, url = verifier
    async with _data_plane(keys, tmp_path, json_upstream, url) as dp:
        async with client_for(dp.mcp_url(), GOOD) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"echo", "add"} <= names  # echo via team eng (groups claim), add via user dana (email)
            assert (await client.call_tool("echo", {"text": "hi"})).content
            assert (await client.call_tool("add", {"a": 1, "b": 2})).content
        events = dp.app[app_keys.AUDIT_BUFFER].take(10_000)
    assert len(service.questions) == 1  # every later request of the session: from the cache
    assert service.questions[0] == {"token": GOOD, "server": "py", "workspace": "demo"}
    assert service.secrets == [HOOK_SECRET]
    calls = [e for e in events if e.method == "tools/call"]
    assert [(e.tool, e.status, e.key_name) for e in calls] == [
        ("echo", "ok", "svc-dana"),
        ("add", "ok", "svc-dana"),
    ]
    assert calls[0].rule == "grant:eng-echo" and calls[1].rule == "grant:dana-add"
    assert (calls[0].user_id, list(calls[0].team_ids), list(calls[0].teams)) == ("u-dana", ["t-eng"], ["eng"])
    assert calls[0].identity_provider == "authn-webhook:demo"


async def test_a_refusal_is_a_401_with_its_reason_and_is_cached(
    keys: KeyPair, tmp_path: Path, json_upstream: str, verifier: tuple[Verifier, str]
) -> None:
    service, url = verifier
    async with _data_plane(keys, tmp_path, json_upstream, url) as dp:
        first, second = await _ping(dp, BAD), await _ping(dp, BAD)
    for response in (first, second):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == errors.UNAUTHENTICATED
        assert response.json()["error"]["data"]["rule"] == "authn-webhook:demo"
        challenge = response.headers["WWW-Authenticate"]
        assert 'error="invalid_token"' in challenge and "credential revoked" in challenge
    assert len(service.questions) == 1


async def test_a_gateway_key_never_reaches_the_webhook(
    keys: KeyPair, tmp_path: Path, json_upstream: str, verifier: tuple[Verifier, str]
) -> None:
    service, url = verifier
    async with _data_plane(keys, tmp_path, json_upstream, url) as dp:
        async with client_for(dp.mcp_url(), WIDE) as client:
            assert (await client.call_tool("echo", {"text": "key"})).content
    assert service.questions == []


async def test_a_webhook_that_does_not_answer_in_time_is_a_401_and_is_asked_again(
    keys: KeyPair, tmp_path: Path, json_upstream: str, verifier: tuple[Verifier, str]
) -> None:
    service, url = verifier
    async with _data_plane(keys, tmp_path, json_upstream, url, timeout_seconds=0.5) as dp:
        first, second = await _ping(dp, SLOW), await _ping(dp, SLOW)
    for response in (first, second):
        assert response.status_code == 401
        assert "did not answer within 0.5 s" in response.json()["error"]["message"]
    assert len(service.questions) == 2  # a failure is never cached


async def test_an_unreachable_webhook_is_a_503_when_its_failure_mode_is_unavailable(
    keys: KeyPair, tmp_path: Path, json_upstream: str
) -> None:
    async with _data_plane(
        keys, tmp_path, json_upstream, "http://127.0.0.1:9/verify", failure_mode="unavailable"
    ) as dp:
        response = await _ping(dp, GOOD)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == errors.AUTHN_UNAVAILABLE
    assert "unreachable" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("token", "says"),
    [(ODD, 'no boolean "allow"'), (NO_SUBJECT, 'without a string "subject"')],
    ids=["not-json", "no-subject"],
)
async def test_a_malformed_answer_is_a_clear_401_not_a_crash(
    keys: KeyPair,
    tmp_path: Path,
    json_upstream: str,
    verifier: tuple[Verifier, str],
    token: str,
    says: str,
) -> None:
    _, url = verifier
    async with _data_plane(keys, tmp_path, json_upstream, url) as dp:
        response = await _ping(dp, token)
    assert response.status_code == 401
    assert says in response.json()["error"]["message"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_the_credential_appears_in_no_log_line_and_no_audit_event(
    keys: KeyPair,
    tmp_path: Path,
    json_upstream: str,
    verifier: tuple[Verifier, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    _, url = verifier
    tokens = (GOOD, BAD, SLOW, ODD, NO_SUBJECT)
    async with _data_plane(keys, tmp_path, json_upstream, url, timeout_seconds=0.5) as dp:
        for token in tokens:
            await _ping(dp, token)
        events = dp.app[app_keys.AUDIT_BUFFER].take(10_000)
    assert len(events) == len(tokens)
    audited = b"".join(e.SerializeToString() for e in events)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "authentication webhook of workspace demo" in logged  # failures are logged...
    for token in tokens:
        assert token.encode() not in audited
        assert token not in logged  # ...without the credential
    assert HOOK_SECRET not in logged

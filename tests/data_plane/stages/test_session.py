from __future__ import annotations

import time

import pytest

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.runtime.sessions import SessionClaims, SessionSealer
from data_plane.stages.authenticate import authenticate
from data_plane.stages.route import route
from data_plane.stages.session import open_session
from tests.data_plane.kit import NARROW, WIDE, KeyPair, bearer, compiled, context

NOW = 1_760_000_000


def authenticated(keys: KeyPair, secret: str, token: str | None) -> RequestContext:
    headers = bearer(secret) | ({"Mcp-Session-Id": token} if token is not None else {})
    ctx = authenticate(context(compiled(keys), headers=headers))
    assert isinstance(ctx, RequestContext)
    routed = route(ctx)
    assert isinstance(routed, RequestContext)
    return routed


def test_a_request_without_a_session_id_passes_unchanged(keys: KeyPair) -> None:
    ctx = authenticated(keys, WIDE, None)
    assert open_session(ctx, SessionSealer.from_group_key(keys.group), None) is ctx


def test_a_valid_session_id_puts_the_upstream_session_in_the_context(keys: KeyPair) -> None:
    sealer = SessionSealer.from_group_key(keys.group)
    claims = SessionClaims("py", "up-1", "k-wide", "2025-11-25", NOW)
    result = open_session(authenticated(keys, WIDE, sealer.seal(claims)), sealer, 3600, now=NOW + 10)
    assert isinstance(result, RequestContext)
    assert result.session == claims


@pytest.mark.parametrize(
    ("case", "secret", "claims", "max_age"),
    [
        ("another key", NARROW, SessionClaims("py", "up-1", "k-wide", "", NOW), None),
        ("another server", WIDE, SessionClaims("other", "up-1", "k-wide", "", NOW), None),
        ("too old", WIDE, SessionClaims("py", "up-1", "k-wide", "", NOW - 3601), 3600.0),
    ],
)
def test_a_session_id_for_another_key_server_or_age_is_not_found(
    keys: KeyPair, case: str, secret: str, claims: SessionClaims, max_age: float | None
) -> None:
    sealer = SessionSealer.from_group_key(keys.group)
    token = sealer.seal(claims)
    result = open_session(authenticated(keys, secret, token), sealer, max_age, now=NOW)
    assert isinstance(result, Denial)
    assert result.kind is DenialKind.SESSION_NOT_FOUND
    assert token not in result.reason


def test_a_session_id_that_does_not_open_is_not_found(keys: KeyPair) -> None:
    sealer = SessionSealer.from_group_key(keys.group)
    result = open_session(authenticated(keys, WIDE, "0123456789abcdef"), sealer, None, now=time.time())
    assert isinstance(result, Denial) and result.kind is DenialKind.SESSION_NOT_FOUND

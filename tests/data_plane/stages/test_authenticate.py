from __future__ import annotations

import pytest

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.stages.authenticate import authenticate
from tests.data_plane.kit import EXPIRED, NARROW, WIDE, KeyPair, compiled, context


@pytest.mark.parametrize(
    ("headers", "kind", "reason_part"),
    [
        ({}, DenialKind.UNAUTHENTICATED, "missing"),
        ({"Authorization": ""}, DenialKind.UNAUTHENTICATED, "missing"),
        ({"Authorization": "Basic Zm9v"}, DenialKind.UNAUTHENTICATED, "malformed"),
        ({"Authorization": "Bearer"}, DenialKind.UNAUTHENTICATED, "malformed"),
        ({"Authorization": "Bearer   "}, DenialKind.UNAUTHENTICATED, "malformed"),
        ({"Authorization": "Bearer nope"}, DenialKind.INVALID_TOKEN, "unknown"),
        ({"Authorization": f"Bearer {EXPIRED}"}, DenialKind.INVALID_TOKEN, "expired"),
    ],
)
def test_missing_and_malformed_headers_are_unauthenticated_and_refused_keys_are_invalid_tokens(
    keys: KeyPair, headers: dict[str, str], kind: DenialKind, reason_part: str
) -> None:
    result = authenticate(context(compiled(keys), headers=headers))
    assert isinstance(result, Denial)
    assert result.kind is kind
    assert reason_part in result.reason


@pytest.mark.parametrize(("secret", "name"), [(WIDE, "wide"), (NARROW, "narrow")])
def test_known_key_resolves_to_its_principal(keys: KeyPair, secret: str, name: str) -> None:
    result = authenticate(context(compiled(keys), headers={"authorization": f"bearer {secret}"}))
    assert isinstance(result, RequestContext)
    assert result.principal is not None and result.principal.name == name


def test_key_expiring_exactly_now_is_refused(keys: KeyPair) -> None:
    snapshot = compiled(keys)
    principal = snapshot.keys[next(h for h, p in snapshot.keys.items() if p.name == "expired")]
    assert principal.expires_at is not None
    result = authenticate(
        context(snapshot, headers={"Authorization": f"Bearer {EXPIRED}"}), now=principal.expires_at
    )
    assert isinstance(result, Denial)


def test_without_a_snapshot_the_request_is_not_ready() -> None:
    result = authenticate(context(None, headers={"Authorization": f"Bearer {WIDE}"}))
    assert isinstance(result, Denial)
    assert result.kind is DenialKind.NOT_READY

from __future__ import annotations

import pytest

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.stages.authenticate import authenticate
from tests.data_plane.kit import EXPIRED, NARROW, WIDE, KeyPair, compiled, context


@pytest.mark.parametrize(
    ("headers", "reason_part"),
    [
        ({}, "missing"),
        ({"Authorization": ""}, "missing"),
        ({"Authorization": "Basic Zm9v"}, "malformed"),
        ({"Authorization": "Bearer"}, "malformed"),
        ({"Authorization": "Bearer   "}, "malformed"),
        ({"Authorization": "Bearer nope"}, "unknown"),
        ({"Authorization": f"Bearer {EXPIRED}"}, "expired"),
    ],
)
def test_missing_malformed_unknown_and_expired_keys_are_unauthenticated(
    keys: KeyPair, headers: dict[str, str], reason_part: str
) -> None:
    result = authenticate(context(compiled(keys), headers=headers))
    assert isinstance(result, Denial)
    assert result.kind is DenialKind.UNAUTHENTICATED
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
